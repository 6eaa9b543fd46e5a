#!/usr/bin/env python3
"""Talks to ovirt-ha-broker exactly as the Python clients do (ovirt_hosted_engine_ha
lib/unixrpc.py + lib/brokerlink.py, used by VDSM's HA stats and hosted-engine
--vm-status): standard xmlrpc.client over HTTP on the unix socket, the socket path
base16-encoded in the host part of the URL, allow_none, and the <i8> marshaller.

usage: broker_client.py SOCKET SCENARIO [ARG...]
Prints one JSON document with what every call answered.
"""
import base64
import http.client
import json
import socket
import sys
import xmlrpc.client


def big_int_marshaller(m, value, writer):
    if value >= 2 ** 31 or value <= -2 ** 31:
        writer("<value><i8>%d</i8></value>" % value)
    else:
        writer("<value><int>%d</int></value>" % value)


xmlrpc.client.Marshaller.dispatch[int] = big_int_marshaller


class UnixXmlRpcHttpConnection(http.client.HTTPConnection):
    def __init__(self, host, timeout=None):
        http.client.HTTPConnection.__init__(self, host)
        self.timeout = timeout

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.timeout is not None:
            self.sock.settimeout(self.timeout)
        self.sock.connect(base64.b16decode(self.host))


class UnixStreamTransport(xmlrpc.client.Transport):
    def __init__(self, timeout=None):
        xmlrpc.client.Transport.__init__(self)
        self.timeout = timeout

    def make_connection(self, host):
        return UnixXmlRpcHttpConnection(host, timeout=self.timeout)

    def parse_response(self, response):
        # what the answer was sent as (xmlrpc.client asks for gzip and decodes it itself)
        self.last_encoding = response.getheader("Content-Encoding", "identity")
        return xmlrpc.client.Transport.parse_response(self, response)


def proxy(sock_path, timeout=10):
    return xmlrpc.client.ServerProxy(
        "http://" + base64.b16encode(sock_path.encode()).decode(),
        transport=UnixStreamTransport(timeout=timeout),
        allow_none=1,
    )


def encoding_of(p):
    """Content-Encoding of the proxy's last answer."""
    return p("transport").last_encoding


def fault_of(fn):
    try:
        return {"result": fn()}
    except xmlrpc.client.Fault as e:
        return {"faultCode": e.faultCode, "faultString": e.faultString}


def stats_summary(stats):
    """get_stats as brokerlink.get_stats_from_storage turns it: {int id: str}."""
    out = {}
    for host_id, data in stats.items():
        text = data.data.decode()
        out[str(int(host_id))] = {
            "length": len(data.data),
            "first_line": text[:512].rstrip("\0"),
            "lines": text.rstrip("\0").split("\n"),
        }
    return out


def set_global_maintenance(p, value):
    """What client.HAClient.set_global_md_flag does: read, update, put_stats(0, ...)."""
    stats = p.get_stats()
    md = {}
    glob = stats.get("0")
    if glob is not None:
        for token in glob.data.decode().rstrip("\0").split("\n"):
            kv = token.split("=", 1)
            if len(kv) == 2:
                md[kv[0]] = kv[1]
    md["maintenance"] = str(value)
    block = ""
    for k, v in md.items():
        block += "{k}={v}".format(k=k, v=v)
    block = block.ljust(4096, "\0")
    return p.put_stats(0, xmlrpc.client.Binary(block.encode()))


def scenario_all(sock_path, host_block_b64):
    p = proxy(sock_path)
    r = {}
    r["start_monitor"] = p.start_monitor("mem-free", {})
    r["status_monitor"] = p.status_monitor(r["start_monitor"])
    r["status_unknown_monitor"] = fault_of(lambda: p.status_monitor("no-such-monitor"))
    r["put_stats"] = p.put_stats(1, xmlrpc.client.Binary(base64.b64decode(host_block_b64)))
    r["get_stats_after_put"] = stats_summary(p.get_stats())
    r["get_stats_encoding"] = encoding_of(p)
    r["set_global_maintenance"] = set_global_maintenance(p, True)
    r["get_stats_after_global"] = stats_summary(p.get_stats())
    r["is_host_alive_before_push"] = p.is_host_alive()
    r["push_hosts_state"] = p.push_hosts_state([1, 2])
    r["is_host_alive"] = p.is_host_alive()
    r["is_host_alive_encoding"] = encoding_of(p)
    r["notify"] = p.notify("state_transition", "EngineDown-EngineStart", {"hostname": "host1"})
    r["lock_host_id"] = fault_of(lambda: p.lock_host_id(1))
    r["start_domain_monitor"] = p.start_domain_monitor(1)
    r["stop_domain_monitor"] = p.stop_domain_monitor()
    r["release_host_id"] = p.release_host_id()
    r["unknown_method"] = fault_of(lambda: p.no_such_method())
    r["wrong_types"] = fault_of(lambda: p.put_stats("abc", 5))
    r["i8_host_id"] = fault_of(lambda: p.put_stats(2 ** 40, xmlrpc.client.Binary(b"x")))
    r["wrong_arity"] = fault_of(lambda: p.get_stats(1))
    r["stop_monitor"] = p.stop_monitor(r["start_monitor"])
    r["still_serving"] = sorted(p.get_stats().keys())
    return r


def scenario_clear_global(sock_path):
    p = proxy(sock_path)
    return {"set_global_maintenance": set_global_maintenance(p, False),
            "get_stats": stats_summary(p.get_stats())}


def main():
    sock_path, scenario = sys.argv[1], sys.argv[2]
    if scenario == "all":
        out = scenario_all(sock_path, sys.argv[3])
    elif scenario == "clear-global":
        out = scenario_clear_global(sock_path)
    else:
        raise SystemExit("unknown scenario " + scenario)
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
