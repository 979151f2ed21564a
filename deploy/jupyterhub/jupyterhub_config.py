"""JupyterHub for the course: local accounts (PAM), one single-user server per
student, nbgrader's exchange in a shared folder, and the formgrader as a hub
service that runs as the grader account owning the course folder (nbgrader's
"one class, several graders" set-up), open to the instructors and TAs.

Run as root, through start.sh (which creates the folders and the course first):
    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py
All settings come from course_hub.py (environment variables COURSE_HUB_*)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import course_hub as hub  # noqa: E402

c = get_config()  # noqa: F821 -- provided by JupyterHub when it loads this file

# Where the hub listens: the proxy (public), the hub itself and the proxy's API.
c.JupyterHub.bind_url = f"http://{hub.IP}:{hub.PORT}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub.HUB_PORT
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.PROXY_API_PORT}"
c.ConfigurableHTTPProxy.command = ["configurable-http-proxy"]
# The hub's own state (its database, cookie secret, proxy token) stays out of the repo.
c.JupyterHub.db_url = "sqlite:///" + os.path.join(hub.STATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(hub.STATE, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(hub.STATE, "jupyterhub.pid")

# Local accounts, their own passwords.
c.JupyterHub.authenticator_class = "pam"
if hub.STUDENTS == ["*"]:
    c.Authenticator.allow_all = True
else:
    c.Authenticator.allowed_users = set(hub.INSTRUCTORS) | set(hub.STUDENTS)
c.Authenticator.admin_users = set()

# Every user's server runs as that user, from the kit's environment, in their home;
# nbgrader there sees the student configuration (Assignments tab, no formgrader).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(hub.BIN, "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.environment = hub.jupyter_env(hub.STUDENT_CONFIG)
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# The formgrader: a service named like the course (nbgrader requires it), started
# by the hub as the grader account, which owns the course folder.
GROUP = "formgrade-" + hub.COURSE_ID
c.JupyterHub.load_groups = {GROUP: {"users": list(hub.INSTRUCTORS)}}
c.JupyterHub.load_roles = [
    {
        "name": GROUP,
        "groups": [GROUP],
        "scopes": [f"access:services!service={hub.COURSE_ID}", "list:services",
                   f"read:services!service={hub.COURSE_ID}"],
    },
]
c.JupyterHub.services = [
    {
        "name": hub.COURSE_ID,
        "url": f"http://127.0.0.1:{hub.SERVICE_PORT}",
        # the formgrader wants the course folder inside the server's root folder
        "command": [os.path.join(hub.BIN, "jupyterhub-singleuser"),
                    "--ServerApp.root_dir=" + os.path.dirname(hub.COURSE_DIR)],
        "user": hub.GRADER,
        "cwd": os.path.dirname(hub.COURSE_DIR),
        "environment": dict(hub.jupyter_env(hub.GRADER_CONFIG, grader=True), JUPYTERHUB_DEFAULT_URL="/lab"),
        "oauth_no_confirm": True,
    },
]
