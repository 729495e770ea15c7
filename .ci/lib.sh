# Shared set-up for .ci/start (the main job) and .ci/run (the test suite). Sourced, not run.
# Everything here is idempotent and fails loudly.

die() { printf '\n.ci: ERROR: %s\n' "$*" >&2; exit 1; }
note() { printf '.ci: %s\n' "$*" >&2; }

pick_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [[ -n $candidate ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)."
}

# bootstrap_venv [extra]: create .venv and install the project (with an optional extra, e.g. test).
# Every dependency, transitive ones included, comes from the lock file .ci/requirements[-extra].lock,
# pinned with hashes (pip --require-hashes); the project itself is then installed without deps.
bootstrap_venv() {
  local extra=${1:-} py stamp want lock
  py=$(pick_python)
  lock=.ci/requirements${extra:+-$extra}.lock
  [[ -f $lock ]] || die "$lock is missing (see the header of .ci/requirements.lock)"
  if [[ ! -x .venv/bin/python ]]; then
    note "creating .venv with $py"
    "$py" -m venv .venv || die "could not create the virtual environment (.venv); on Debian: apt-get install python3-venv"
  fi
  want="$(cat pyproject.toml "$lock" | sha256sum | cut -c1-16)-${extra}"
  stamp=.venv/.ankommen-installed
  if [[ ! -f $stamp ]] || ! grep -qx -- "$want" "$stamp"; then
    note "installing dependencies into .venv from $lock"
    local log=.venv/pip-install.log
    if ! { .venv/bin/python -m pip install --upgrade pip &&
           .venv/bin/python -m pip install --require-hashes -r "$lock" &&
           .venv/bin/python -m pip install --no-deps -e ".${extra:+[$extra]}"; } >"$log" 2>&1; then
      tail -n 40 "$log" >&2
      die "pip install failed (full log: $log)"
    fi
    echo "$want" > "$stamp"
  fi
}

pg_up() { pg_isready -q -h "$PGHOST_" -p "$PGPORT_" >/dev/null 2>&1; }

# ensure_postgres: a PostgreSQL on 127.0.0.1:5432 with trust auth and a database "test".
ensure_postgres() {
  PGHOST_=127.0.0.1 PGPORT_=5432
  export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
  if ! command -v pg_isready >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    note "PostgreSQL is not installed; installing it from Debian's packages"
    [[ $(id -u) == 0 ]] || die "PostgreSQL is missing and this is not root; install postgresql or set TEST_DATABASE_URL"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || die "apt-get install postgresql failed"
  fi
  if ! pg_up; then
    local version
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
      note "creating a PostgreSQL $version cluster"
      pg_createcluster "$version" main >/dev/null || die "pg_createcluster failed"
    fi
    local cluster
    cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
    # Trust auth on loopback for the test database only (a throw-away CI server).
    local hba
    hba=$(ls /etc/postgresql/${cluster%% *}/${cluster##* }/pg_hba.conf 2>/dev/null || true)
    if [[ -n $hba ]] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    note "starting PostgreSQL cluster $cluster"
    pg_ctlcluster --skip-systemctl-redirect $cluster start >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
    pg_up || die "PostgreSQL did not come up on $PGHOST_:$PGPORT_"
  fi
  if ! psql -h "$PGHOST_" -p "$PGPORT_" -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1; then
    psql -h "$PGHOST_" -p "$PGPORT_" -U postgres -d postgres -qc 'create database test' >/dev/null 2>&1 ||
      die "cannot reach or create the database 'test' as user postgres on $PGHOST_:$PGPORT_ (trust auth needed)"
  fi
  note "PostgreSQL is up: $TEST_DATABASE_URL"
}

# ensure_chromium: Debian's headless Chromium, for the test that renders the HTML report.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then return 0; fi
  note "Chromium is not installed; installing it from Debian's packages (for the report render test)"
  [[ $(id -u) == 0 ]] || die "Chromium is missing and this is not root; install Debian's chromium package"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
}
