"""docker-compose.yaml's team stack as processes on this machine, without Docker (`make stack`).

The services and their settings are read from the compose file itself (through the Compose v2
binary's offline ``config``, with the env file compose would read), so the two cannot drift.
What differs is only what a container provides: service names become 127.0.0.1 with free
ports, container paths become folders under one run directory, and one PostgreSQL server holds
the two databases compose gives a server each. Everything listens on loopback.

Processes: PostgreSQL (initdb into the run directory, as a non-root user when run as root),
airflow-init then the API server, scheduler, dag-processor and triggerer (LocalExecutor), the
Spark standalone master and worker of the pyspark distribution, and the MLflow server with its
PostgreSQL store and basic auth. :meth:`Stack.stop` ends every one of them.

``python -m shopflow.stack [--env-file .env] [--dir DIR]`` starts it and waits for Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from shopflow.runtime import REPO_ROOT

BIN = Path(sys.executable).parent
COMPOSE_BIN = BIN.parent / "lib" / "python3.11" / "site-packages" / "compose" / "docker-compose"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
#: A password no shell or JSON quoting may break: the admin logs in with it through the API.
TRICKY = """it's "q" \\ {x}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spark_home() -> Path:
    import importlib.util

    return Path(importlib.util.find_spec("pyspark").origin).parent


def postgres_bindir() -> Path:
    """The Debian PostgreSQL server binaries (apt-get install postgresql)."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "postgres").is_file():
            return candidate
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (.ci/run does it)")


def write_env_file(path: Path, example: Path = REPO_ROOT / "deploy" / "env.example") -> Path:
    """An env file with every key of deploy/env.example and fresh secrets; the admin's
    password holds quotes and a backslash."""
    from cryptography.fernet import Fernet

    lines = []
    for line in example.read_text().splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        key = line.split("=", 1)[0]
        if key.endswith("_USER"):
            value = "admin"
        elif key == "AIRFLOW_FERNET_KEY":
            value = Fernet.generate_key().decode()
        elif key == "AIRFLOW_ADMIN_PASSWORD":
            value = secrets.token_hex(8) + TRICKY
        else:
            value = secrets.token_hex(16)
        lines.append(f"{key}={value}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    return path


def compose_services(env_file: Path) -> dict:
    proc = subprocess.run([str(COMPOSE_BIN), "--env-file", str(env_file), "config", "--format", "json"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"docker-compose config failed: {proc.stderr}")
    return json.loads(proc.stdout)["services"]


@dataclass
class Stack:
    root: Path
    env_file: Path | None = None
    #: Extra environment for the Airflow services (e.g. what a test needs on top of compose).
    airflow_overrides: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    #: The environment each process was started with.
    launched: dict[str, dict[str, str]] = field(default_factory=dict)
    services: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ translation

    def __post_init__(self):
        self.root = Path(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs = self.root / "logs"
        self.logs.mkdir(exist_ok=True)
        if self.env_file is None:
            self.env_file = write_env_file(self.root / "env")
        self.services = compose_services(self.env_file)
        for name in ("postgres", "api", "mlflow", "spark", "spark_ui", "worker_ui"):
            self.ports[name] = free_port()
        self.home = self.root / "home"
        self._pg = None
        self.stack_id = secrets.token_hex(8)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def mlflow_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['mlflow']}"

    @property
    def spark_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['spark_ui']}"

    def _text(self, value: str) -> str:
        """A compose value with service names and container paths made local."""
        p = self.ports
        for old, new in (
            ("airflow-db:5432", f"127.0.0.1:{p['postgres']}"),
            ("mlflow-db:5432", f"127.0.0.1:{p['postgres']}"),
            ("airflow-apiserver:8080", f"127.0.0.1:{p['api']}"),
            ("http://mlflow:5000", self.mlflow_url),
            ("spark://spark-master:7077", f"spark://127.0.0.1:{p['spark']}"),
            ("http://localhost:8080", self.api_url),
            ("http://localhost:5000", self.mlflow_url),
            ("/opt/shopflow/data", str(self.home)),
            ("/opt/shopflow/dags", str(REPO_ROOT / "dags")),
            ("/opt/shopflow/plugins", str(REPO_ROOT / "plugins")),
            ("/opt/airflow", str(self.root / "airflow")),
            ("/mlartifacts", str(self.root / "mlartifacts")),
        ):
            value = value.replace(old, new)
        return value

    def env(self, service: str) -> dict[str, str]:
        """The process environment of a compose service, made local."""
        env = {k: self._text(str(v)) for k, v in (self.services[service].get("environment") or {}).items()}
        for key in ("SHOPFLOW_SPARK_DRIVER_HOST", "SHOPFLOW_SPARK_BIND_ADDRESS", "SPARK_LOCAL_HOSTNAME"):
            if key in env:
                env[key] = "127.0.0.1"  # every service on loopback
        base = {
            # The image's PATH: the venv (python, airflow, mlflow) and pyspark's bin (spark-class).
            "PATH": os.pathsep.join([str(BIN), str(spark_home() / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": os.environ.get("HOME", str(self.root)),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "TMPDIR": str(self.root / "tmp"),
            "SPARK_HOME": str(spark_home()),
            # Executors run the venv's Python, as the image's workers run the image's.
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        }
        for key in ("JAVA_HOME", "PYTHONPATH"):  # PYTHONPATH: a checkout run without installing it
            if os.environ.get(key):
                base[key] = os.environ[key]
        if service.startswith("airflow-"):
            env.update(self.airflow_overrides)
        return {**base, **env}

    def command(self, service: str) -> list[str]:
        args = [self._text(str(a)) for a in self.services[service]["command"]]
        port_map = {"8080": self.ports["api"], "5000": self.ports["mlflow"], "7077": self.ports["spark"],
                    "8081": self.ports["spark_ui"]}
        out = []
        for i, arg in enumerate(args):
            flag = args[i - 1] if i else ""
            if flag == "--host":
                arg = "127.0.0.1"
            elif flag in ("--port", "--webui-port"):
                arg = str(port_map.get(arg, arg))
            out.append(arg)
        programs = {"python": sys.executable, "airflow": str(BIN / "airflow"),
                    "spark-class": str(spark_home() / "bin" / "spark-class")}
        out[0] = programs.get(out[0], out[0])
        if service == "airflow-apiserver":
            out += ["--host", "127.0.0.1"]
        if service == "spark-worker":
            out += ["--webui-port", str(self.ports["worker_ui"]), "--work-dir", str(self.root / "spark-work")]
        return out

    # ------------------------------------------------------------------ processes

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path | None = None,
               user: str | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        env = {**env, "SHOPFLOW_STACK_ID": self.stack_id}  # inherited by every child: finds stragglers
        proc = subprocess.Popen(cmd, env=env, cwd=cwd or self.root, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **({"user": user} if user else {}))
        log.close()
        self.procs[name] = proc
        self.launched[name] = env
        return proc

    def start_postgres(self) -> None:
        bindir = postgres_bindir()
        user = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = "postgres" if _user_exists("postgres") else "nobody"
        self._pg = Path(tempfile.mkdtemp(prefix="shopflow-pg-"))  # outside root: a 0700 parent would lock it out
        data, sock = self._pg / "data", self._pg / "sock"
        sock.mkdir()
        if user:
            for path in (self._pg, sock):
                shutil.chown(path, user)
        run_as = {"user": user} if user else {}
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                        "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, **run_as)
        self._spawn("postgres", [str(bindir / "postgres"), "-D", str(data), "-k", str(sock), "-h", "127.0.0.1",
                                 "-p", str(self.ports["postgres"]), "-c", "fsync=off", "-c", "synchronous_commit=off",
                                 "-c", "full_page_writes=off", "-c", "max_connections=200"],
                    {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd=self._pg, user=user)
        import psycopg2
        from psycopg2 import sql

        deadline = time.monotonic() + 60
        while True:
            try:
                con = psycopg2.connect(host=str(sock), port=self.ports["postgres"], user="postgres", dbname="postgres")
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline or self.procs["postgres"].poll() is not None:
                    raise RuntimeError(f"PostgreSQL did not start; see {self.logs / 'postgres.log'}")
                time.sleep(0.3)
        con.autocommit = True
        with con.cursor() as cur:
            for service in ("airflow-db", "mlflow-db"):
                env = self.services[service]["environment"]
                role, db = sql.Identifier(env["POSTGRES_USER"]), sql.Identifier(env["POSTGRES_DB"])
                cur.execute(sql.SQL("create role {} login password %s").format(role), (env["POSTGRES_PASSWORD"],))
                cur.execute(sql.SQL("create database {} owner {}").format(db, role))
        con.close()

    def start(self, timeout: float = 240) -> "Stack":
        started = time.monotonic()
        for folder in ("home", "airflow", "mlartifacts", "spark-work", "tmp"):
            (self.root / folder).mkdir(exist_ok=True)
        self.start_postgres()
        # MLflow and Spark first: they start while airflow-init migrates.
        self._spawn("mlflow", self.command("mlflow"), self.env("mlflow"))
        self._spawn("spark-master", self.command("spark-master"), self.env("spark-master"))
        init = subprocess.run(self.command("airflow-init"), env=self.env("airflow-init"), cwd=self.root,
                              capture_output=True, text=True)
        (self.logs / "airflow-init.log").write_text(init.stdout + init.stderr)
        if init.returncode != 0:
            raise RuntimeError(f"airflow-init failed:\n{init.stderr[-3000:]}")
        for service in AIRFLOW_SERVICES:
            self._spawn(service, self.command(service), self.env(service))
        self._spawn("spark-worker", self.command("spark-worker"), self.env("spark-worker"))
        self._wait(f"{self.api_url}/api/v2/monitor/health", "airflow-apiserver", started + timeout)
        self._wait(f"{self.mlflow_url}/health", "mlflow", started + timeout)
        self._wait(f"{self.spark_ui_url}/json/", "spark-master", started + timeout,
                   ready=lambda body: json.loads(body).get("aliveworkers", 0) >= 1)
        return self

    def _wait(self, url: str, name: str, deadline: float, ready=lambda body: True) -> None:
        while True:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited; logs in {self.logs}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200 and ready(response.read()):
                        return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer on {url}; log in {self.logs / (name + '.log')}")
            time.sleep(1)

    def stop(self) -> None:
        """End every process of the stack (each is a session leader: its children go too)."""
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # stragglers of the group (task processes, executors), and a leader that ignored TERM
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        for pid in self.stragglers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._pg is not None:
            shutil.rmtree(self._pg, ignore_errors=True)
            self._pg = None

    def stragglers(self) -> list[int]:
        """Processes still carrying this stack's id (children that left their process group)."""
        marker = f"SHOPFLOW_STACK_ID={self.stack_id}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def __enter__(self) -> "Stack":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ clients

    def airflow_login(self, user: str, password: str) -> str:
        body = json.dumps({"username": user, "password": password}).encode()
        request = urllib.request.Request(f"{self.api_url}/auth/token", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["access_token"]

    def admin(self, service: str, prefix: str) -> tuple[str, str]:
        env = self.services[service]["environment"]
        return env[f"{prefix}_USERNAME" if f"{prefix}_USERNAME" in env else f"{prefix}_USER"], env[f"{prefix}_PASSWORD"]


def http(method: str, url: str, body=None, token: str | None = None, basic: tuple[str, str] | None = None,
         headers: dict | None = None) -> tuple[int, object]:
    """One JSON call: (status, decoded body or text). HTTP errors are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json",
                                                                            **(headers or {})})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if basic:
        request.add_header("Authorization", "Basic " + base64.b64encode(":".join(basic).encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shopflow.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-file", type=Path, help="the env file compose reads (default: fresh secrets)")
    parser.add_argument("--dir", type=Path, help="run directory (default: a new temporary folder)")
    args = parser.parse_args(argv)
    root = args.dir or Path(tempfile.mkdtemp(prefix="shopflow-stack-"))
    stack = Stack(root, env_file=args.env_file)
    with stack:
        user, _ = stack.admin("airflow-init", "AIRFLOW_ADMIN")
        print(f"team stack up in {root}\n  Airflow  {stack.api_url}  (user {user}; password in {stack.env_file})\n"
              f"  MLflow   {stack.mlflow_url}  (basic auth)\n  Spark    {stack.spark_ui_url}\n"
              f"  logs     {stack.logs}\nCtrl-C stops every process.", flush=True)
        try:
            while all(p.poll() is None for p in stack.procs.values()):
                time.sleep(2)
            print("a service exited; stopping the stack", flush=True)
            return 1
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
