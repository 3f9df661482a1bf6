"""The suite's network guard really catches connection attempts."""

from __future__ import annotations

import socket

import pytest


def test_any_tcp_connection_is_refused_and_recorded(no_network):
    with pytest.raises(OSError, match="refused a network connection"):
        socket.create_connection(("127.0.0.1", 9))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(OSError):
        sock.connect(("93.184.216.34", 80))
    assert len(no_network) == 2
    no_network.clear()  # this test made the attempts on purpose


def test_local_unix_sockets_still_work():
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"
