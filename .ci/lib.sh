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

# bootstrap_venv [extra]: one .venv for .ci/start and .ci/run, with the project and, for an extra
# (e.g. test), its extra dependencies. Every dependency, transitive ones included, comes from the
# lock file .ci/requirements[-extra].lock, pinned with hashes (pip --require-hashes); the project
# itself is then installed without deps.
#
# Only what is missing is installed. The stamp .venv/.ankommen-installed lists every lock file the
# venv satisfies, one "<lock> <hash of pyproject.toml and the lock>" a line. Installing a lock also
# records each other lock whose pins it covers: the test lock is the run-time lock plus the test
# tools, so after .ci/run, .ci/start installs nothing; after .ci/start, .ci/run lets pip add the
# test tools only (it skips what is installed). A change to pyproject.toml or a lock changes its
# hash, and the next command installs again.
lock_key() { printf '%s %s\n' "$1" "$(cat pyproject.toml "$1" | sha256sum | cut -c1-16)"; }

# pins_cover A B: every name==version pinned in lock file B is pinned in lock file A.
pins_cover() {
  local py=.venv/bin/python
  "$py" - "$1" "$2" <<'EOF'
import re, sys
def pins(path):
    found = set()
    for line in open(path, encoding="utf-8"):
        m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line)
        if m:
            found.add((re.sub(r"[-_.]+", "-", m.group(1)).lower(), m.group(2)))
    return found
sys.exit(0 if pins(sys.argv[2]) <= pins(sys.argv[1]) else 1)
EOF
}

bootstrap_venv() {
  local extra=${1:-} py stamp lock key other log
  py=$(pick_python)
  lock=.ci/requirements${extra:+-$extra}.lock
  [[ -f $lock ]] || die "$lock is missing (see the header of .ci/requirements.lock)"
  stamp=.venv/.ankommen-installed
  if [[ ! -x .venv/bin/python ]]; then
    note "creating .venv with $py"
    "$py" -m venv .venv || die "could not create the virtual environment (.venv); on Debian: apt-get install python3-venv"
    rm -f "$stamp"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || note "could not upgrade pip; going on with $(.venv/bin/python -m pip --version)"
  fi
  key=$(lock_key "$lock")
  if [[ -f $stamp && -x .venv/bin/ankommen ]] && grep -qxF -- "$key" "$stamp"; then
    return 0
  fi
  note "installing what $lock adds to .venv (pip skips what is already there)"
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install --require-hashes -r "$lock" &&
         .venv/bin/python -m pip install --no-deps -e .; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "pip install failed (full log: $log)"
  fi
  {
    [[ -f $stamp ]] && cat "$stamp"
    echo "$key"
    for other in .ci/requirements*.lock; do
      [[ $other == "$lock" ]] && continue
      if pins_cover "$lock" "$other"; then lock_key "$other"; fi
    done
  } | sort -u > "$stamp.new"
  mv "$stamp.new" "$stamp"
}

pg_up() { pg_isready -q -h "$PGHOST_" -p "$PGPORT_" >/dev/null 2>&1; }

# The PostgreSQL role the tests use. Not a superuser: it may log in, create databases (each
# PostgreSQL test makes its own, ankommen_test_<12 hex>, through a connection to "test") and owns
# what it creates, nothing else; it cannot read other roles' tables, create roles, or reach the
# server's files or programs the way a superuser can (COPY ... PROGRAM).
TEST_ROLE=ankommen_test

# pg_hba_trust_test_role FILE: the one trust rule .ci/run adds to a cluster it starts itself:
#   host all ankommen_test 127.0.0.1/32 trust
# Trust is tied to the role, not to database names: the tests' databases are made on the fly
# with random names, and pg_hba.conf matches database names only literally (regular expressions
# came with PostgreSQL 16; Debian 12 ships 15), so the rule's reach is what that role may do (see
# TEST_ROLE). The superuser postgres keeps Debian's default (peer over the local socket only).
# The older, wider rule of this script (host all all 127.0.0.1/32 trust) is taken out.
pg_hba_trust_test_role() {
  local hba=$1 rule="host all $TEST_ROLE 127.0.0.1/32 trust"
  sed -i '/^host all all 127\.0\.0\.1\/32 trust$/d' "$hba"
  grep -qxF -- "$rule" "$hba" || sed -i "1i $rule" "$hba"
}

# as_superuser SQL: run SQL as postgres: over the loopback if that is trusted (a developer's own
# server), else over the local socket as the postgres OS user (root: Debian's peer auth).
as_superuser() {
  if psql -h "$PGHOST_" -p "$PGPORT_" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    psql -h "$PGHOST_" -p "$PGPORT_" -U postgres -d postgres -v ON_ERROR_STOP=1 -Atqc "$1"
  elif [[ $(id -u) == 0 ]] && id postgres >/dev/null 2>&1; then
    runuser -u postgres -- psql -p "$PGPORT_" -d postgres -v ON_ERROR_STOP=1 -Atqc "$1"
  else
    return 1
  fi
}

# ensure_postgres: a PostgreSQL on 127.0.0.1:5432 where the role ankommen_test logs in without a
# password and a database "test" exists; exports TEST_DATABASE_URL for it. A TEST_DATABASE_URL set
# by the caller is used as it is.
ensure_postgres() {
  PGHOST_=127.0.0.1 PGPORT_=5432
  if [[ -n ${TEST_DATABASE_URL:-} ]]; then
    psql "$TEST_DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1 ||
      die "cannot reach TEST_DATABASE_URL=$TEST_DATABASE_URL"
    note "PostgreSQL is up: $TEST_DATABASE_URL (as given)"
    return 0
  fi
  if ! command -v pg_isready >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    note "PostgreSQL is not installed; installing it from Debian's packages (system-wide, as root)"
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
    local cluster hba
    cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
    hba=$(ls /etc/postgresql/${cluster%% *}/${cluster##* }/pg_hba.conf 2>/dev/null || true)
    [[ -n $hba ]] && pg_hba_trust_test_role "$hba"
    note "starting PostgreSQL cluster $cluster"
    pg_ctlcluster --skip-systemctl-redirect $cluster start >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
    pg_up || die "PostgreSQL did not come up on $PGHOST_:$PGPORT_"
  fi
  export TEST_DATABASE_URL="postgresql://$TEST_ROLE@$PGHOST_:$PGPORT_/test"
  if ! psql "$TEST_DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1; then
    as_superuser "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$TEST_ROLE') THEN
        CREATE ROLE $TEST_ROLE LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION; END IF; END\$\$" >/dev/null &&
      { [[ $(as_superuser "SELECT 1 FROM pg_database WHERE datname = 'test'") == 1 ]] ||
        as_superuser "CREATE DATABASE test OWNER $TEST_ROLE" >/dev/null; } ||
      die "cannot create the role $TEST_ROLE and the database test (run as root, or set TEST_DATABASE_URL)"
    psql "$TEST_DATABASE_URL" -Atqc 'select 1' >/dev/null 2>&1 ||
      die "the role $TEST_ROLE cannot log in on $PGHOST_:$PGPORT_: add 'host all $TEST_ROLE 127.0.0.1/32 trust' to pg_hba.conf (see .ci/lib.sh)"
  fi
  note "PostgreSQL is up: $TEST_DATABASE_URL"
}

# ensure_chromium: Debian's headless Chromium, for the test that renders the HTML report.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then return 0; fi
  note "Chromium is not installed; installing it from Debian's packages (system-wide, as root; for the report render test)"
  [[ $(id -u) == 0 ]] || die "Chromium is missing and this is not root; install Debian's chromium package"
  apt-get update -qq >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
}
