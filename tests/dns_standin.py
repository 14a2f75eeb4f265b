"""A real DNS server on a loopback UDP port, for tests: it answers PTR, A and AAAA from tables the test fills.

It runs in a thread of its own, so the event loop under test talks to it over a real socket, and it
records every question it is asked (``queries``) so a test can tell a cached answer from a fresh one.
``silent = True`` makes it read questions and answer none (a server that times out).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from types import TracebackType

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.reversename
import dns.rrset

TTL = 300


class DnsStandIn:
    """Authoritative answers for the names the test puts in :attr:`ptr` and :attr:`addresses`; NXDOMAIN otherwise."""

    def __init__(self) -> None:
        #: Address (any spelling) -> the host names its PTR records give.
        self.ptr: dict[str, list[str]] = {}
        #: Host name -> its addresses, IPv4 (A) and IPv6 (AAAA) together.
        self.addresses: dict[str, list[str]] = {}
        self.silent = False
        #: (name, type) of every question received, in order, answered or not.
        self.queries: list[tuple[str, str]] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.port: int = self._socket.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-standin", daemon=True)

    def __enter__(self) -> DnsStandIn:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                wire, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            question = query.question[0]
            self.queries.append((question.name.to_text(), dns.rdatatype.to_text(question.rdtype)))
            if self.silent:
                continue
            self._socket.sendto(self._answer(query).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        if question.rdtype == dns.rdatatype.PTR:
            address = ipaddress.ip_address(dns.reversename.to_address(question.name))
            names = next((hosts for text, hosts in self.ptr.items() if ipaddress.ip_address(text) == address), None)
            if names is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            else:
                response.answer.append(
                    dns.rrset.from_text(question.name, TTL, "IN", "PTR", *(f"{name}." for name in names))
                )
            return response
        host = question.name.to_text(omit_final_dot=True).lower()
        if host not in self.addresses:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        version = 4 if question.rdtype == dns.rdatatype.A else 6
        matching = [text for text in self.addresses[host] if ipaddress.ip_address(text).version == version]
        if matching and question.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            rdtype = dns.rdatatype.to_text(question.rdtype)
            response.answer.append(dns.rrset.from_text(question.name, TTL, "IN", rdtype, *matching))
        return response
