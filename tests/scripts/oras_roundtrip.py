"""Push a Wasm component with the oras Python client, then pull it back.

Usage: oras_roundtrip.py HOST:PORT REPO:TAG WORKDIR
WORKDIR must contain hello.wasm and config.json; the pulled files land in
WORKDIR/pulled. Plain http (insecure=True), as for a loopback registry.
With ORAS_USERNAME and ORAS_PASSWORD set it logs in first (the registry's
token flow), keeping the credentials file inside WORKDIR.
"""
import os
import sys

import oras.client


def main() -> None:
    host, target, workdir = sys.argv[1], sys.argv[2], sys.argv[3]
    os.chdir(workdir)
    client = oras.client.OrasClient(hostname=host, insecure=True)
    username = os.environ.get("ORAS_USERNAME")
    if username:
        client.login(
            username=username,
            password=os.environ["ORAS_PASSWORD"],
            hostname=host,
            tls_verify=False,
            config_path=os.path.join(workdir, "docker-config.json"),
        )
    reference = f"{host}/{target}"
    response = client.push(
        target=reference,
        files=["hello.wasm:application/wasm"],
        manifest_config="config.json:application/vnd.wasm.config.v0+json",
        disable_path_validation=True,
    )
    if response.status_code not in (200, 201):
        raise SystemExit(f"push failed: {response.status_code} {response.text}")
    pulled = client.pull(target=reference, outdir=os.path.join(workdir, "pulled"))
    print("\n".join(pulled))


if __name__ == "__main__":
    main()
