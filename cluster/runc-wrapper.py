"""runc wrapper that drops capabilities this host cannot grant (docker's `--privileged` asks for all).

Some VMs run Docker with a capability bounding set that lacks CAP_SYS_RESOURCE; runc then fails every
`--privileged` container ("unable to apply caps: operation not permitted"), and kind nodes are privileged
containers. This wrapper removes the capabilities missing from our own bounding set from the OCI bundle's
config.json (`create`, `run`) and from the `--process` file (`exec`), then execs the real runc.
Installed by scripts/docker-engine.sh as a Docker runtime, only on hosts that need it.
"""

import json
import os
import sys

REAL_RUNC = os.environ.get("LLAMANET_REAL_RUNC", "/usr/sbin/runc")
CAP_NAMES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
    "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]


def missing_caps() -> set[str]:
    with open("/proc/self/status") as status:
        bounding = next(int(line.split()[1], 16) for line in status if line.startswith("CapBnd:"))
    return {name for bit, name in enumerate(CAP_NAMES) if not bounding >> bit & 1}


def option(args: list[str], *names: str) -> str | None:
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def strip(caps: dict[str, list[str]] | None, drop: set[str]) -> bool:
    if not caps:
        return False
    changed = False
    for kind, names in caps.items():
        kept = [name for name in names if name not in drop]
        if len(kept) != len(names):
            caps[kind] = kept
            changed = True
    return changed


def rewrite(path: str, caps_of: "callable[[dict], dict | None]", drop: set[str]) -> None:
    with open(path) as f:
        doc = json.load(f)
    if strip(caps_of(doc), drop):
        with open(path, "w") as f:
            json.dump(doc, f)


def main() -> None:
    args = sys.argv[1:]
    drop = missing_caps()
    if drop:
        if "create" in args or "run" in args:
            bundle = option(args, "--bundle", "-b") or os.getcwd()
            rewrite(os.path.join(bundle, "config.json"),
                    lambda doc: doc.get("process", {}).get("capabilities"), drop)
        elif "exec" in args:
            process = option(args, "--process", "-p")
            if process:
                rewrite(process, lambda doc: doc.get("capabilities"), drop)
    os.execv(REAL_RUNC, [REAL_RUNC, *args])


if __name__ == "__main__":
    main()
