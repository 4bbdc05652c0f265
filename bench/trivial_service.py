"""Bare nameko service: the floor for one RPC round trip through RabbitMQ."""

from nameko.rpc import rpc


class BenchEcho:
    name = "bench_echo"

    @rpc
    def ping(self, x):
        return x
