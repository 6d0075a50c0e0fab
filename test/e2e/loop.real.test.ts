// The whole loop end to end on real infrastructure: Apache Kafka for the event log (KAFKA_BROKERS) and a Redis
// Cluster of three masters with a replica each for the online store and the registry (REDIS_URL).
import { type ApacheKafka, startApacheKafka } from '../support/kafka-broker.ts';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.ts';
import { describeLoop } from './support/loop-scenario.ts';

let kafka: ApacheKafka | undefined;
let redis: RedisCluster | undefined;

describeLoop('the local loop on Apache Kafka and a Redis Cluster', {
  async start() {
    [kafka, redis] = await Promise.all([startApacheKafka(), startRedisCluster()]);
    return { KAFKA_BROKERS: kafka.brokers, REDIS_URL: redis.url };
  },
  async stop() {
    await Promise.all([kafka?.stop(), redis?.stop()]);
  },
});
