"""A pool of nameko RPC proxies per gunicorn worker.

Opening a proxy declares a reply queue and a consumer: about ten times the cost of a call, so
proxies are kept and reused. Each proxy serves one request at a time; the request id travels as
nameko context data ("correlation_id") into the service and on into the events it publishes.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from contextlib import contextmanager

from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import ServiceProxy
from nameko.standalone.rpc import ClusterProxy
from nameko.standalone.rpc import ClusterRpcProxy as _NamekoClusterRpcProxy

from cvms_platform.envelope import CORRELATION_KEY

# Errors after which a proxy's connection or reply queue can no longer be trusted.
_BROKEN = (RpcTimeout, UnknownService, OSError, ConnectionError, KombuOperationalError)


class _ExpiringClusterProxy(ClusterProxy):
    """nameko's cluster proxy, whose requests expire in their queue when the caller stops
    waiting for the reply. After an outage a service then starts on what callers still wait
    for, not on a backlog of requests already answered 503 (and sent again by their clients)."""

    def __init__(self, worker_ctx, reply_listener, *, expiration: float):
        super().__init__(worker_ctx, reply_listener)
        self._expiration = expiration

    def __getattr__(self, name):
        if name not in self._proxies:
            self._proxies[name] = ServiceProxy(
                self._worker_ctx, name, self._reply_listener, expiration=self._expiration
            )
        return self._proxies[name]


class ClusterRpcProxy(_NamekoClusterRpcProxy):
    def __init__(self, config, *, timeout: float):
        super().__init__(config, timeout=timeout)
        self._proxy = _ExpiringClusterProxy(
            self._worker_ctx, self._reply_listener, expiration=timeout
        )


class BrokerUnavailable(ConnectionError):
    """RabbitMQ could not be reached, or dropped the connection (answered 503, Retry-After)."""


def _broker_down(error: BaseException) -> bool:
    """Whether `error` says the broker is unreachable: kombu's connection errors, and the plain
    OSError py-amqp raises when a server (restarting, say) closes the connection at once."""
    return isinstance(error, KombuOperationalError | ConnectionError | TimeoutError) or (
        type(error) is OSError
    )


def _as_unavailable(error: BaseException) -> BaseException:
    if _broker_down(error) and not isinstance(error, ConnectionError | TimeoutError):
        unavailable = BrokerUnavailable(f"cannot reach RabbitMQ ({type(error).__name__})")
        unavailable.__cause__ = error
        return unavailable
    return error


class RpcPool:
    def __init__(self, amqp_uri: str, *, size: int, timeout: float):
        self._config = {"AMQP_URI": amqp_uri, "serializer": "json"}
        self._timeout = timeout
        self._size = size
        self._idle: queue.LifoQueue[ClusterRpcProxy] = queue.LifoQueue()

    @contextmanager
    def services(self, correlation_id: str) -> Iterator:
        """Yield a cluster proxy (`proxy.inventory.method(...)`) for one request."""
        try:
            standalone = self._idle.get_nowait()
        except queue.Empty:
            standalone = ClusterRpcProxy(self._config, timeout=self._timeout)
            try:
                standalone.start()
            except BaseException as error:
                self._discard(standalone)
                raise _as_unavailable(error) from error
        # The standalone proxy keeps one worker context for its life; set this request's id.
        standalone._worker_ctx.data[CORRELATION_KEY] = correlation_id
        try:
            yield standalone._proxy
        except _BROKEN as error:
            self._discard(standalone)
            raise _as_unavailable(error) from error
        except BaseException:
            self._release(standalone)
            raise
        else:
            self._release(standalone)

    def _release(self, standalone: ClusterRpcProxy) -> None:
        if self._idle.qsize() < self._size:
            self._idle.put(standalone)
        else:
            self._discard(standalone)

    @staticmethod
    def _discard(standalone: ClusterRpcProxy) -> None:
        # A broken proxy may fail to stop cleanly; it is dropped either way.
        with contextlib.suppress(Exception):
            standalone.stop()

    def close(self) -> None:
        while not self._idle.empty():
            self._discard(self._idle.get_nowait())
