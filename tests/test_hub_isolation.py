"""Production isolation: one Unix account per person (``mindit hub --spawner isolated``, root needed).

Two analysts (they may run code) get their own Unix accounts from ``mindit users add``; code run in one's
kernel cannot read the other's home (where their server keeps its token), the communes' private data or
the hub's state — only the data service can. CI runs as root; elsewhere this test fails (it is not skipped).
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import subprocess
import uuid

import requests
from tornado.websocket import websocket_connect

from mindit_lib.testing_hub import HubProcess

PROBE = """
import json, os, pathlib
out = {"user": os.environ["USER"], "uid": os.getuid()}
for key, path in {"other_home": "/home/%(other)s", "private": "%(private)s", "hub_state": "%(hub)s"}.items():
    try:
        out[key] = sorted(os.listdir(path))
    except PermissionError:
        out[key] = "PermissionError"
try:
    pathlib.Path("%(private)s/62063/secret.csv").read_bytes()
    out["private_file"] = "read"
except PermissionError:
    out["private_file"] = "PermissionError"
print(json.dumps(out))
"""


async def run_in_kernel(base: str, token: str, code: str) -> str:
    """Start a kernel on a person's server with their token, run ``code``, return what it printed."""
    headers = {"Authorization": f"token {token}"}
    kernel = requests.post(f"{base}/api/kernels", json={"name": "python3"}, headers=headers, timeout=60).json()
    ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels"
    from tornado.httpclient import HTTPRequest

    conn = await websocket_connect(HTTPRequest(ws_url, headers=headers, connect_timeout=30))
    msg_id = uuid.uuid4().hex
    await conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                   "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    printed = []
    while True:
        raw = await asyncio.wait_for(conn.read_message(), timeout=60)
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        if msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    conn.close()
    return "".join(printed)


def test_one_unix_account_per_person_keeps_people_apart(tmp_path_factory, config):
    assert os.geteuid() == 0, "the isolation test creates Unix accounts: run the tests as root (CI does)"
    workdir = tmp_path_factory.mktemp("isolated")
    os.chmod(workdir, 0o755)  # only the project's own permissions may protect the hub state and private data
    os.chmod(workdir.parent, 0o755)
    hub = HubProcess.start(workdir, config, spawner="isolated")
    suffix = uuid.uuid4().hex[:6]
    one, two = f"ana{suffix}a", f"ana{suffix}b"
    try:
        (workdir / "private" / "62063").mkdir(parents=True, exist_ok=True)
        (workdir / "private" / "62063" / "secret.csv").write_text("a;b\n1;2\n")
        passwords = hub.add_users(f"username,groups\n{one},analysts\n{two},analysts\n", spawner="isolated")
        assert pwd.getpwnam(one).pw_uid != pwd.getpwnam(two).pw_uid
        assert oct(os.stat(pwd.getpwnam(two).pw_dir).st_mode & 0o777) == "0o700"
        admin_token = (workdir / "hub" / "accounts-service.token").read_text().strip()
        tokens = {}
        for name in (one, two):
            session = hub.login(name, passwords[name])
            hub.wait_for_server(session, name, timeout=90)
            tokens[name] = requests.post(f"{hub.url}/hub/api/users/{name}/tokens", timeout=10,
                                         headers={"Authorization": f"token {admin_token}"},
                                         json={"scopes": [f"access:servers!user={name}"], "expires_in": 600}
                                         ).json()["token"]
        # the other person's server is running and has written its runtime files (with its token) in its home
        runtime = f"{pwd.getpwnam(two).pw_dir}/.local/share/jupyter/runtime"
        assert any(n.startswith("jpserver-") for n in os.listdir(runtime))
        code = PROBE % {"other": two, "private": workdir / "private", "hub": workdir / "hub"}
        printed = asyncio.run(run_in_kernel(f"{hub.url}/user/{one}", tokens[one], code))
        seen = json.loads(printed.strip().splitlines()[-1])
        assert seen["user"] == one and seen["uid"] == pwd.getpwnam(one).pw_uid
        assert seen["other_home"] == "PermissionError"
        assert seen["private"] == "PermissionError"
        assert seen["private_file"] == "PermissionError"
        assert seen["hub_state"] == "PermissionError"
        # and one person's token does not open the other's server
        other = requests.get(f"{hub.url}/user/{two}/api/contents", timeout=10,
                             headers={"Authorization": f"token {tokens[one]}"}, allow_redirects=False)
        assert other.status_code in (302, 403, 404)
        assert other.status_code != 200
    finally:
        hub.stop()
        for name in (one, two):
            subprocess.run(["userdel", "--remove", name], capture_output=True)
