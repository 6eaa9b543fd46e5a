#!/usr/bin/env python3
"""Reads a configuration volume with the original's own heconflib (ovirt-hosted-engine-ha,
ovirt_hosted_engine_ha/lib/heconflib.py): validateConfImage (`dd bs=4k | tar -tvf -`,
every member named) and extractConfFile (`dd bs=4k | tar -xOf - <member>`) for each of
the five members. Prints one JSON document: {"valid": bool, "members": {name: text|null}}.

usage: heconflib_read.py CHECKOUT VOLUME
CHECKOUT is an ovirt-hosted-engine-ha source checkout. Its two constants modules are
autoconf templates (constants.py.in); they are built here from those files with the
placeholders filled as a build would, VDSM_USER being the user running this script (so
heconflib runs dd itself instead of `sudo -u vdsm dd`). heconflib imports VDSM's client
and its own lib/util for functions these two calls never use; when VDSM's lib is not on
PYTHONPATH those two names come from stand-ins that raise if called.
"""
import getpass
import grp
import json
import os
import re
import sys
import types


def module_from_template(name, path, values):
    with open(path) as f:
        text = f.read()
    text = re.sub(r"@([A-Z_]+)@", lambda m: values.get(m.group(1), "/nonexistent"), text)
    mod = types.ModuleType(name)
    mod.__file__ = path
    exec(compile(text, path, "exec"), mod.__dict__)
    sys.modules[name] = mod
    return mod


def never_called(*_args, **_kwargs):
    raise RuntimeError("stand-in: not part of validateConfImage/extractConfFile")


def main():
    checkout, volume = sys.argv[1], sys.argv[2]
    pkg = os.path.join(checkout, "ovirt_hosted_engine_ha")
    sys.path.insert(0, checkout)
    import ovirt_hosted_engine_ha.agent  # noqa: F401  (the packages, from the checkout)
    import ovirt_hosted_engine_ha.env  # noqa: F401
    import ovirt_hosted_engine_ha.lib  # noqa: F401

    values = {
        "PACKAGE_NAME": "ovirt-hosted-engine-ha",
        "PACKAGE_VERSION": "2.5.1",
        "VDSM_USER": getpass.getuser(),
        "VDSM_GROUP": grp.getgrgid(os.getgid()).gr_name,
    }
    agentconst = module_from_template(
        "ovirt_hosted_engine_ha.agent.constants",
        os.path.join(pkg, "agent", "constants.py.in"),
        values,
    )
    envconst = module_from_template(
        "ovirt_hosted_engine_ha.env.constants", os.path.join(pkg, "env", "constants.py.in"), values
    )
    ovirt_hosted_engine_ha.agent.constants = agentconst
    ovirt_hosted_engine_ha.env.constants = envconst
    try:
        import vdsm.client  # noqa: F401
        import ovirt_hosted_engine_ha.lib.util  # noqa: F401
    except ImportError:
        client = types.ModuleType("vdsm.client")
        client.ServerError = type("ServerError", (Exception,), {})
        sys.modules.setdefault("vdsm", types.ModuleType("vdsm"))
        sys.modules["vdsm.client"] = client
        util = types.ModuleType("ovirt_hosted_engine_ha.lib.util")
        util.connect_vdsm_json_rpc = never_called
        sys.modules["ovirt_hosted_engine_ha.lib.util"] = util

    from ovirt_hosted_engine_ha.lib import heconflib

    names = [
        envconst.HEConfFiles.HECONFD_VERSION,
        envconst.HEConfFiles.HECONFD_ANSWERFILE,
        envconst.HEConfFiles.HECONFD_HECONF,
        envconst.HEConfFiles.HECONFD_BROKER_CONF,
        envconst.HEConfFiles.HECONFD_VM_CONF,
    ]
    doc = {
        "valid": heconflib.validateConfImage(None, volume),
        "members": {n: heconflib.extractConfFile(None, volume, n) for n in names},
    }
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
