#!/usr/bin/env bash
# Starts the course's JupyterHub on this machine, as root:
#     deploy/jupyterhub/start.sh [course.env]
# Reads the settings (COURSE_HUB_*, see course.env.example) from the file given,
# or deploy/jupyterhub/course.env when there is one, prepares the grader account,
# the exchange and the course folder (setup_course.py), then runs JupyterHub in
# the foreground. Uses the kit's virtual environment (.venv) or the active one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
env_file="${1:-$here/course.env}"
if [ -f "$env_file" ]; then
    set -a; . "$env_file"; set +a
fi
if [ -z "${COURSE_HUB_BIN:-}" ]; then
    if [ -n "${VIRTUAL_ENV:-}" ]; then COURSE_HUB_BIN="$VIRTUAL_ENV/bin"; else COURSE_HUB_BIN="$repo/.venv/bin"; fi
fi
export COURSE_HUB_BIN PATH="$COURSE_HUB_BIN:$PATH"
[ "$(id -u)" = 0 ] || { echo "start.sh: run as root (the hub starts each user's server as that user)" >&2; exit 1; }
command -v configurable-http-proxy >/dev/null || { echo "start.sh: configurable-http-proxy missing: npm install -g configurable-http-proxy" >&2; exit 1; }
"$COURSE_HUB_BIN/python" "$here/setup_course.py" system
cd "${COURSE_HUB_STATE:-/srv/jupyterhub/${COURSE_HUB_COURSE_ID:-cnn-course-kit}}"
exec "$COURSE_HUB_BIN/jupyterhub" -f "$here/jupyterhub_config.py"
