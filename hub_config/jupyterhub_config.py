# JupyterHub configuration of Mind it — started by `mindit hub` (see hub_config/README.md).
#
# Everything that changes between machines comes from the environment that `mindit hub` sets (or that a
# deployment sets itself); the paths come from mindit.toml through mindit_lib.config:
#   MINDIT_HUB_BIND_URL      public URL of the proxy              (default http://127.0.0.1:8000)
#   MINDIT_HUB_PORT          the hub's internal API port          (default 8081)
#   MINDIT_PROXY_API_PORT    configurable-http-proxy's API port   (default 8001)
#   MINDIT_DATA_SERVICE_PORT the data service's port              (default 10101)
#   MINDIT_HUB_SPAWNER       "isolated" (one Unix account per person; production, needs root) or "simple"
#                            (every server runs as the hub's account: development and browser tests only)
import os
import shutil
import sys
from pathlib import Path

from mindit_lib.access import ANALYSTS_GROUP, SERVICE_NAME, SERVICE_URL_ENV
from mindit_lib.config import load_config
from mindit_lib.server_guard import ALLOWED_KERNEL_MESSAGES, DEFAULT_DASHBOARD

c = get_config()  # noqa: F821 (provided by JupyterHub)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = Path(sys.executable).parent
mindit = load_config()
state = mindit.hub_dir
state.mkdir(parents=True, exist_ok=True)
os.chmod(state, 0o700)

bind_url = os.environ.get("MINDIT_HUB_BIND_URL", "http://127.0.0.1:8000")
hub_port = int(os.environ.get("MINDIT_HUB_PORT", "8081"))
proxy_api_port = int(os.environ.get("MINDIT_PROXY_API_PORT", "8001"))
service_port = int(os.environ.get("MINDIT_DATA_SERVICE_PORT", "10101"))
spawner_kind = os.environ.get("MINDIT_HUB_SPAWNER", "isolated")

# -- network, state -------------------------------------------------------------------------------------------
c.JupyterHub.bind_url = bind_url
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub_port
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
chp = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [str(chp) if chp.exists() else "configurable-http-proxy"]
c.ConfigurableHTTPProxy.debug = False
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.shutdown_on_logout = False
c.JupyterHub.template_vars = {"announcement_login": "Mind it — connexion des communes et des analystes"}

# -- accounts: per-person, login form, sign-up approved by an admin ------------------------------------------------
c.JupyterHub.authenticator_class = "native"
c.Authenticator.allow_all = True          # who may log in is decided by NativeAuthenticator's admin approval
c.NativeAuthenticator.open_signup = False  # a sign-up waits for an admin (/hub/authorize)
c.NativeAuthenticator.minimum_password_length = 10
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.allowed_failed_logins = 5
c.NativeAuthenticator.seconds_before_next_try = 300
c.NativeAuthenticator.enable_signup = True
c.Authenticator.admin_users = {u for u in os.environ.get("MINDIT_HUB_ADMINS", "").split(",") if u}
c.JupyterHub.admin_access = False         # admins manage accounts; they do not open other people's servers
# Production alternative (OAuth/OIDC with groups from the identity provider's claims), see hub_config/README.md:
#   c.JupyterHub.authenticator_class = "generic-oauth"
#   c.GenericOAuthenticator.manage_groups = True
#   c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"

# -- groups and roles ----------------------------------------------------------------------------------------------
# commune-<refnis> groups are created by `mindit users add`; these two always exist:
c.JupyterHub.load_groups = {"province": {"users": []}, ANALYSTS_GROUP: {"users": []}}
c.JupyterHub.load_roles = [
    # every user: their own account, and requests to the data service (which checks their groups itself)
    {"name": "user", "scopes": ["self", f"access:services!service={SERVICE_NAME}"]},
    # the data service reads who the caller is and their groups, nothing else
    {"name": "mindit-data-service", "services": [SERVICE_NAME],
     "scopes": ["list:users", "read:users", "read:users:groups", "list:groups", "read:groups"]},
    # `mindit users add` (token in the hub's state folder, readable by the hub's account only): it may create
    # admins, so it holds the hub's admin role
    {"name": "admin", "services": ["mindit-accounts"]},
]

accounts_token_file = state / "accounts-service.token"
if not accounts_token_file.exists():
    accounts_token_file.write_text(os.urandom(32).hex())
    os.chmod(accounts_token_file, 0o600)
c.JupyterHub.services = [
    {
        "name": SERVICE_NAME,
        "url": f"http://127.0.0.1:{service_port}",
        "command": [sys.executable, "-m", "mindit_lib.data_service"],
        "environment": {k: v for k, v in os.environ.items() if k.startswith("MINDIT_")},
        "oauth_no_confirm": True,
        "display": False,
    },
    {"name": "mindit-accounts", "api_token": accounts_token_file.read_text().strip(), "display": False},
]

# -- the people's servers ------------------------------------------------------------------------------------------
if spawner_kind == "simple":
    # every server as the hub's own account: no isolation between people (development, browser tests)
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    c.SimpleLocalProcessSpawner.home_dir_template = str(state / "homes" / "{username}")
    if os.geteuid() == 0:
        c.Spawner.args = ["--allow-root"]
elif spawner_kind == "isolated":
    # one Unix account per person (created by `mindit users add`): a kernel cannot read another person's files,
    # tokens or the private data (folder 0700 of the hub's account). Kubernetes: KubeSpawner, one pod per person.
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
else:
    raise ValueError(f"MINDIT_HUB_SPAWNER={spawner_kind!r}: use 'isolated' or 'simple'.")

c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
# The token of each server may call the data service (which checks the user's groups itself).
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                 f"access:services!service={SERVICE_NAME}"]
c.Spawner.environment = {
    SERVICE_URL_ENV: f"http://127.0.0.1:{service_port}/services/{SERVICE_NAME}",
    "MINDIT_CONFIG": str(mindit.config_file or REPO / "mindit.toml"),
    "MINDIT_STORE": str(mindit.store_path),
    "MINDIT_OUTPUT": str(mindit.output_dir),
    "MINDIT_SOURCE_DIR": str(mindit.source_dir),
    "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
    # the dashboards' Voilà template (share/jupyter/voila/templates/mindit: no CDN)
    "JUPYTER_PATH": str(REPO / "share" / "jupyter"),
    # pre-heated kernels per dashboard (mindit_lib.voila_pool): only Ma commune, one kernel per person
    "MINDIT_VOILA_POOLS": os.environ.get("MINDIT_VOILA_POOLS", '{"ma_commune.ipynb": 1}'),
    "MINDIT_VOILA_FILL_DELAY": os.environ.get("MINDIT_VOILA_FILL_DELAY", ""),   # "" = voila_pool's default
}
if os.environ.get("MINDIT_DASHBOARD_FAULT"):  # tests only: make named dashboard callbacks fail on purpose
    c.Spawner.environment["MINDIT_DASHBOARD_FAULT"] = os.environ["MINDIT_DASHBOARD_FAULT"]
c.Spawner.env_keep = ["LANG", "LC_ALL", "TZ"]

DASHBOARDS_DIR = REPO / "notebooks" / "dashboards"
SERVER_CONFIG_DIR = HERE / "jupyter_server"


def choose_profile(spawner):
    """Analysts get JupyterLab on the repository; everyone else the dashboards only (decided here, on the hub)."""
    groups = {g.name for g in spawner.user.groups}
    # a read-only config folder of the project, so that nothing in a person's home can widen their rights
    spawner.environment["JUPYTER_CONFIG_DIR"] = str(SERVER_CONFIG_DIR / "config")
    spawner.environment["JUPYTER_CONFIG_PATH"] = str(SERVER_CONFIG_DIR / "config")
    base_args = ["--allow-root"] if spawner_kind == "simple" and os.geteuid() == 0 else []
    if ANALYSTS_GROUP in groups:
        spawner.environment["MINDIT_PROFILE"] = "analyst"
        spawner.notebook_dir = str(REPO)
        spawner.default_url = "/lab"
        spawner.args = base_args
        return
    spawner.environment["MINDIT_PROFILE"] = "dashboards"
    spawner.notebook_dir = str(DASHBOARDS_DIR)
    spawner.default_url = f"/voila/render/{DEFAULT_DASHBOARD}"
    spawner.args = base_args + [
        "--ServerApp.authorizer_class=mindit_lib.server_guard.DashboardAuthorizer",
        "--ServerApp.jpserver_extensions="
        "{'mindit_lib.server_guard': True, 'mindit_lib.voila_pool': True, 'voila': True, 'jupyterlab': False, "
        "'notebook': False, "
        "'jupyter_lsp': False, 'jupyter_server_terminals': False, 'notebook_shim': False}",
        "--ServerApp.terminals_enabled=False",
        f"--MappingKernelManager.allowed_message_types={ALLOWED_KERNEL_MESSAGES!r}",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.file_allowlist=[]",
    ]


c.Spawner.pre_spawn_hook = choose_profile

if not shutil.which("node") and not chp.exists():
    raise SystemExit("configurable-http-proxy is not installed: run `bash scripts/setup.sh`.")
