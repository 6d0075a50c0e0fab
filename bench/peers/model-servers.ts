// The Python model servers of the serving comparison, started on free loopback ports with the risk ONNX file:
// KServe's ModelServer (py/kserve_server.py) and MLServer with a custom runtime (py/mlserver_runtime.py).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../../test/support/ports.ts';
import { type PeerServer, startPeerServer } from './server.ts';
import { ensureVenv } from './venv.ts';

const PY = path.join(import.meta.dirname, 'py');
const MODEL = 'risk';
/** The Open Inference Protocol v2 REST path every server answers, Flywheel's score included. */
export const INFER_PATH = `/v2/models/${MODEL}/infer`;

/** KServe: one uvicorn worker, gRPC off, latency logging and access log off (py/kserve_server.py). */
export async function startKServe(dir: string, onnxFile: string): Promise<PeerServer> {
  const port = await freePort();
  return startPeerServer({
    name: 'KServe',
    command: ensureVenv('serving'),
    args: [path.join(PY, 'kserve_server.py')],
    env: { PEER_MODEL_FILE: onnxFile, PEER_MODEL_NAME: MODEL, PEER_HTTP_PORT: String(port) },
    url: `http://127.0.0.1:${port}`,
    readyPath: `/v2/models/${MODEL}/ready`,
    logFile: path.join(dir, 'kserve.log'),
  });
}

/** MLServer with its defaults (one parallel inference worker) but access logs off and its ports on loopback. */
export async function startMlServer(dir: string, onnxFile: string, python: string): Promise<PeerServer> {
  const repo = path.join(dir, 'mlserver');
  const port = await freePort();
  const settings = {
    debug: false,
    host: '127.0.0.1',
    http_port: port,
    grpc_port: await freePort(),
    metrics_port: await freePort(),
  };
  await mkdir(path.join(repo, MODEL), { recursive: true });
  await writeFile(path.join(repo, 'settings.json'), JSON.stringify(settings, null, 2));
  await writeFile(
    path.join(repo, MODEL, 'model-settings.json'),
    JSON.stringify(
      { name: MODEL, implementation: 'mlserver_runtime.OnnxRisk', parameters: { uri: onnxFile } },
      null,
      2,
    ),
  );
  return startPeerServer({
    name: 'MLServer',
    command: path.join(path.dirname(python), 'mlserver'),
    args: ['start', repo],
    env: { PYTHONPATH: PY },
    url: `http://127.0.0.1:${port}`,
    readyPath: `/v2/models/${MODEL}/ready`,
    logFile: path.join(dir, 'mlserver.log'),
  });
}
