// etcd for the tests: one member from go.etcd.io/etcd/server's embed package, the version kube-apiserver is built
// against. Flags: --data-dir, --listen-client-urls (one http URL), --listen-peer-urls (one http URL).
package main

import (
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dataDir := flag.String("data-dir", "", "where the member keeps its data")
	client := flag.String("listen-client-urls", "http://127.0.0.1:2379", "the client URL")
	peer := flag.String("listen-peer-urls", "http://127.0.0.1:2380", "the peer URL")
	flag.Parse()
	clientURL, err := url.Parse(*client)
	if err != nil {
		log.Fatalf("--listen-client-urls: %v", err)
	}
	peerURL, err := url.Parse(*peer)
	if err != nil {
		log.Fatalf("--listen-peer-urls: %v", err)
	}
	cfg := embed.NewConfig()
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.Name + "=" + peerURL.String()
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // a test's data lives for seconds
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("etcd: %v", err)
	}
	<-e.Server.ReadyNotify()
	log.Printf("etcd serving %s", clientURL)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-stop:
	case err := <-e.Err():
		log.Printf("etcd: %v", err)
	}
	e.Close()
}
