"""The local Neo4j server: fetch its jars from Maven Central, configure, start, stop.

A real Neo4j 5.26 LTS Community server, run from the jars that Maven Central
publishes (the tarball is not published there). Everything it writes lives in
``Settings.home``, outside the work tree::

    <home>/neo4j/<version>+browser-<version>/lib/*.jar   shared by every instance
    <home>/neo4j/<version>+browser-<version>/jvm/<key>.jsa the JVM's class archive, per Java
    <home>/neo4j/instances/<name>/conf/neo4j.conf         written on every start
    <home>/neo4j/instances/<name>/{data,logs,run,import,plugins}
    <home>/neo4j/instances/<name>/password                generated once, mode 600

Nothing here runs when ``NEO4J_URI`` points at an external server.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from graph.settings import Settings

MAIN_CLASS = "org.neo4j.server.CommunityEntryPoint"
ADMIN_CLASS = "org.neo4j.cli.AdminTool"
POM = Path(__file__).with_name("neo4j-pom.xml")
SUPPORTED_JAVA = (17, 21)
"""Neo4j 5.26 runs on Java 17 and 21; 2025.x and later need 21."""
API_URL = "http://127.0.0.1:8000"
"""Where ``graphrails demo`` and ``graphrails serve`` listen by default; the Browser fetches
the graphrails style from there when it connects (see ``_write_config``)."""

# Neo4j's own launcher passes these; without them Netty and the page cache
# fall back to slower code paths on Java 17.
JVM_FLAGS = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-OmitStackTraceInFastThrow",
    "-Dfile.encoding=UTF-8",
)


STOP_SETTINGS = {
    "db.shutdown_transaction_end_timeout": "1s",
    "internal.dbms.bolt.netty_server_shutdown_quiet_period": "0",
}
"""A stop ends what is under way at once, so that the API answers those requests 503 within
a second (issue 18, docs/benchmarks.md "Neo4j stopped under load"). By default Neo4j waits
up to 10 s for open transactions to end, then out a 5 s Netty quiet period (twice) before
it closes the Bolt connections; requests on them hang meanwhile. docker-compose.yml sets
the same."""


PLAN_CACHE_SETTINGS = {
    "internal.cypher.use_parameter_size": "false",
    "internal.cypher.expression_engine": "COMPILED",
}
"""One plan per statement, made once. By default Neo4j 5 keys its plan cache on a size
bucket of each list and string parameter (up to 10 items, up to 100, ...) and plans a
statement again for every new bucket: each eligibility call whose candidate list or user id
fell in a new bucket paid a full plan of cypher/rails/eligible.cypher (about 1 s of CPU
warm, several seconds on a Neo4j just started). And by default it first plans a statement
with interpreted expressions, then again with compiled ones once it is hot: on a Neo4j just
started the 11th EXPLAIN of cypher/rails/home.cypher took 1.8 s (runs of it showed no such
spike), while compiling the expressions with the first plan made its first run no slower
(issue 18, docs/benchmarks.md "Neo4j stopped under load"). The rail statements' plans are
the same either way, and so is their speed once planned. docker-compose.yml sets the same."""


ARCHIVE_STATEMENTS = "rails"
"""The folder of cypher/ whose statements the class archive's run plans (``EXPLAIN``), so
that it holds the planner's classes a rail needs, not only the server's start-up."""


class ServerError(RuntimeError):
    """The local server could not be installed, started or stopped; the message says why."""


@dataclass(frozen=True)
class ServerStatus:
    running: bool
    pid: int | None
    version: str
    bolt: str
    http: str
    data_dir: Path
    log_file: Path

    def describe(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "stopped"
        return "\n".join(
            [
                f"Neo4j {self.version} Community: {state}",
                f"  bolt:    {self.bolt}",
                f"  browser: {self.http}/browser/",
                f"  data:    {self.data_dir}",
                f"  log:     {self.log_file}",
            ]
        )


class LocalServer:
    """One local Neo4j instance, described by ``settings``."""

    def __init__(self, settings: Settings) -> None:
        if not settings.managed:
            raise ServerError(
                f"NEO4J_URI={settings.neo4j_uri} points at an external server; "
                "graphrails does not start or stop it."
            )
        self.settings = settings
        self.dir = settings.instance_dir
        self.lib = settings.jars_dir / "lib"
        self.conf_dir = self.dir / "conf"
        self.data_dir = self.dir / "data"
        self.logs_dir = self.dir / "logs"
        self.pid_file = self.dir / "run" / "graphrails.pid"
        self.console_log = self.logs_dir / "console.log"
        self.log_file = self.logs_dir / "neo4j.log"
        self._saving_to: Path | None = None
        """Where the JVM writes its class archive at exit (:meth:`save_class_archive` only)."""

    # ----------------------------------------------------------------- install
    @property
    def installed(self) -> bool:
        return (self.settings.jars_dir / "complete").exists()

    def install(self) -> None:
        """Resolve the server and Browser jars with Maven (once; Maven caches in ~/.m2)."""
        if self.installed:
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ServerError("Maven ('mvn') is not on PATH; it fetches the Neo4j jars.")
        self.lib.mkdir(parents=True, exist_ok=True)
        s = self.settings
        print(
            f"Fetching Neo4j {s.neo4j_version} and Browser {s.browser_version} jars "
            f"from Maven Central into {self.lib} (about 140 MB, once)...",
            flush=True,
        )
        cmd = [
            mvn, "-B", "-q", "-f", str(POM),
            "dependency:copy-dependencies",
            f"-Dneo4j.version={s.neo4j_version}",
            f"-Dbrowser.version={s.browser_version}",
            f"-DoutputDirectory={self.lib}",
            "-DincludeScope=runtime",
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not any(self.lib.glob("neo4j-server-*.jar")):
            raise ServerError(
                "Maven could not resolve the Neo4j jars:\n" + _tail(done.stdout + done.stderr, 30)
            )
        (s.jars_dir / "complete").write_text(f"{s.neo4j_version} {s.browser_version}\n")

    # ------------------------------------------------------------------ status
    def pid(self) -> int | None:
        """The pid of this instance's server, if it is running."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _is_our_server(pid, self.dir) else None

    def status(self) -> ServerStatus:
        pid = self.pid()
        return ServerStatus(
            running=pid is not None,
            pid=pid,
            version=self.settings.neo4j_version,
            bolt=self.settings.uri,
            http=f"http://127.0.0.1:{self.settings.http_port}",
            data_dir=self.data_dir,
            log_file=self.log_file,
        )

    # ------------------------------------------------------------------- start
    def start(self) -> ServerStatus:
        """Start the server; return once Bolt accepts the credentials and HTTP answers."""
        if self.pid() is not None:
            self._wait_until_ready(None)
            return self.status()
        java = _java()
        self.install()
        for port in (self.settings.bolt_port, self.settings.http_port):
            if _port_in_use(port):
                raise ServerError(
                    f"Port {port} on 127.0.0.1 is already taken by another process, so Neo4j "
                    "cannot listen there. Stop that process or choose other ports with "
                    "GRAPHRAILS_NEO4J_BOLT_PORT / GRAPHRAILS_NEO4J_HTTP_PORT."
                )
        for sub in ("conf", "data", "logs", "run", "import", "plugins"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._ensure_initial_password(java)

        heap = self.settings.heap
        cmd = [
            java, f"-Xms{heap}", f"-Xmx{heap}", *JVM_FLAGS, *self._archive_flags(java),
            "-cp", f"{self.lib}/*", MAIN_CLASS,
            f"--home-dir={self.dir}", f"--config-dir={self.conf_dir}",
        ]  # fmt: skip
        with self.console_log.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the CLI that started it
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        try:
            self._wait_until_ready(proc)
        except BaseException:
            _terminate(proc.pid, grace_s=10)
            self.pid_file.unlink(missing_ok=True)
            raise
        return self.status()

    # ----------------------------------------------------------- class archive
    def class_archive(self, java: str | None = None) -> Path:
        """Where the class archive of this Java and these jars is (or would be)."""
        java = java or _java()
        key = hashlib.sha256(f"{java}\n{_java_version(java)}".encode()).hexdigest()[:16]
        return self.settings.jars_dir / "jvm" / f"{key}.jsa"

    def _archive_flags(self, java: str) -> list[str]:
        """Map the class archive if there is one (see :meth:`save_class_archive`); while
        saving it, write it at exit instead."""
        if self._saving_to is not None:
            return [f"-XX:ArchiveClassesAtExit={self._saving_to}"]
        archive = self.class_archive(java)
        if self.settings.class_archive and archive.exists():
            return [f"-XX:SharedArchiveFile={archive}"]
        return []

    def save_class_archive(self) -> Path | None:
        """Save a class-data-sharing archive of the server's JVM, once per Java and jars; every
        later start of any instance maps it (unless ``GRAPHRAILS_NEO4J_CLASS_ARCHIVE=false``).

        A JVM that maps the classes it loaded last time skips loading and verifying them:
        measured on two cores, Neo4j started in 3.7-4.5 s instead of 5.8-7.3 s idle (4.3-6.3 s
        instead of 8.4-11.6 s under the chaos bench's load), and a first rail's statements on
        a Neo4j just started ran in 5.2-5.9 s instead of 5.8-6.5 s (docs/benchmarks.md, "Neo4j
        stopped under load"). The archive is dumped when a scratch instance stops, after it
        has planned the rail statements, so that it holds the planner's classes too; that
        takes about half a minute and some 130 MB. Returns the archive, or None when the JVM
        saved none."""
        java = _java()
        archive = self.class_archive(java)
        if archive.exists():
            return archive
        if not self.settings.class_archive:
            return None
        self.install()
        archive.parent.mkdir(exist_ok=True)
        bolt, http = free_ports(2)
        scratch = LocalServer(self.settings.model_copy(update={
            "instance": f"class-archive-{os.getpid()}", "bolt_port": bolt, "http_port": http,
            "heap": "512m", "pagecache": "64m",
        }))  # fmt: skip
        part = archive.with_name(f"{archive.stem}.{os.getpid()}.part")
        scratch._saving_to = part
        try:
            scratch.start()
            _plan_statements(scratch.settings)
            pid = scratch.pid()
            clean = pid is not None and _terminate(pid, grace_s=60)
            if clean and part.exists() and part.stat().st_size > 0:
                part.replace(archive)
        except Exception as e:  # the archive only speeds starts up: say why, lose nothing else
            raise ServerError(
                f"Could not save the JVM's class archive ({e}); Neo4j starts without it, "
                "only slower."
            ) from e
        finally:
            scratch.stop()
            part.unlink(missing_ok=True)
            shutil.rmtree(scratch.dir, ignore_errors=True)
        return archive if archive.exists() else None

    def _write_config(self) -> None:
        s, d = self.settings, self.dir
        conf = f"""# Written by graphrails on every start; edit the GRAPHRAILS_* settings instead.
server.directories.data={d / "data"}
server.directories.logs={d / "logs"}
server.directories.run={d / "run"}
server.directories.import={d / "import"}
server.directories.plugins={d / "plugins"}
server.default_listen_address=127.0.0.1
server.default_advertised_address=127.0.0.1
server.bolt.enabled=true
server.bolt.listen_address=127.0.0.1:{s.bolt_port}
server.bolt.advertised_address=127.0.0.1:{s.bolt_port}
server.http.enabled=true
server.http.listen_address=127.0.0.1:{s.http_port}
server.http.advertised_address=127.0.0.1:{s.http_port}
server.https.enabled=false
dbms.security.auth_enabled=true
dbms.usage_report.enabled=false
server.memory.heap.initial_size={s.heap}
server.memory.heap.max_size={s.heap}
server.memory.pagecache.size={s.pagecache}
db.tx_log.rotation.retention_policy=2 files
# Neo4j Browser: apply the graphrails style (served by the API) on connect. The Browser
# fetches remote styles and guides only from these hosts (5.26 still says "whitelist");
# its default lacks 127.0.0.1.
browser.remote_content_hostname_whitelist=guides.neo4j.com,localhost,127.0.0.1
browser.post_connect_cmd=style {API_URL}/browser/graphrails.grass
client.allow_telemetry=false
"""
        conf += "# A stop ends what is under way at once (graph.server.STOP_SETTINGS).\n"
        conf += _settings(STOP_SETTINGS)
        conf += "# One plan per statement, made once (PLAN_CACHE_SETTINGS).\n"
        conf += _settings(PLAN_CACHE_SETTINGS)
        (self.conf_dir / "neo4j.conf").write_text(conf)

    def _ensure_initial_password(self, java: str) -> None:
        # The admin tool writes data/dbms/auth.ini, which Neo4j reads only on
        # its very first start; later starts keep whatever password is set.
        if (self.data_dir / "dbms" / "auth.ini").exists() or any(
            (self.data_dir / "databases").glob("system")
        ):
            return
        # The password goes through an argument file (picocli's @file, which neo4j-admin
        # 5.26 reads), never the command line: any user of the machine can read a process's
        # arguments while it runs. The file is the instance's, mode 600, deleted at once.
        # "--" ends the options: a password may start with "-".
        args = self.dir / ".initial-password.args"
        args.unlink(missing_ok=True)
        fd = os.open(args, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"-- {_quoted(resolve_password(self.settings))}\n")
        try:
            done = self.admin(java, "dbms", "set-initial-password", f"@{args}")
        finally:
            args.unlink(missing_ok=True)
        if done.returncode != 0:
            raise ServerError(
                "Could not set the initial password:\n" + _tail(done.stdout + done.stderr, 20)
            )

    def admin(self, java: str | None, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``neo4j-admin ARGS`` (``org.neo4j.cli.AdminTool``) for this instance."""
        env = dict(os.environ, NEO4J_HOME=str(self.dir), NEO4J_CONF=str(self.conf_dir))
        cmd = [java or _java(), "-cp", f"{self.lib}/*", ADMIN_CLASS, *args]
        return subprocess.run(
            cmd, env=env, cwd=self.dir, capture_output=True, text=True, check=False
        )

    def _wait_until_ready(self, proc: subprocess.Popen[bytes] | None) -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, ServiceUnavailable

        s = self.settings
        deadline = time.monotonic() + s.start_timeout_s
        while True:
            if proc is not None and proc.poll() is not None:
                raise ServerError(
                    f"Neo4j exited during start-up (exit code {proc.returncode}).\n"
                    + self.diagnose()
                )
            try:
                with GraphDatabase.driver(
                    s.uri, auth=(s.neo4j_user, resolve_password(s)), connection_timeout=2
                ) as driver:
                    driver.verify_connectivity()
                # HTTP (and the Browser) comes up a moment after Bolt.
                with urllib.request.urlopen(f"http://127.0.0.1:{s.http_port}/", timeout=2):
                    return
            except AuthError as e:
                raise ServerError(
                    f"Neo4j is up but refused user '{s.neo4j_user}' with the configured password "
                    f"({'NEO4J_PASSWORD' if s.neo4j_password else s.password_file}). "
                    "The password was fixed at the instance's first start; set the matching "
                    f"NEO4J_PASSWORD or remove {self.dir} to start afresh."
                ) from e
            except (ServiceUnavailable, OSError):  # URLError is an OSError
                pass
            if time.monotonic() > deadline:
                raise ServerError(
                    f"Bolt ({s.uri}) and HTTP (port {s.http_port}) did not both answer "
                    f"within {s.start_timeout_s:.0f} s.\n" + self.diagnose()
                )
            time.sleep(0.5)

    def diagnose(self) -> str:
        """A short explanation of a failed start, with the tails of the logs."""
        text = ""
        for log in (self.console_log, self.log_file, self.logs_dir / "debug.log"):
            if log.exists():
                body = log.read_text(errors="replace")
                text += f"\n--- last lines of {log} ---\n{_tail(body, 25)}"
        hints = {
            r"Address already in use|BindException": "a port is already in use",
            r"OutOfMemoryError|Could not reserve enough space": (
                "not enough memory: lower GRAPHRAILS_NEO4J_HEAP / GRAPHRAILS_NEO4J_PAGECACHE"
            ),
            r"UnsupportedClassVersionError": "the Java version is too old for these jars",
        }
        found = [hint for pattern, hint in hints.items() if re.search(pattern, text)]
        return ("Likely cause: " + "; ".join(found) + "\n" if found else "") + text

    @contextlib.contextmanager
    def running(self, *, stop: bool = True) -> Iterator[None]:
        """Start the server if it is stopped; on the way out, stop it again if it was started
        here (and ``stop``). A server someone else started is left running."""
        started_here = self.pid() is None
        if started_here:
            self.start()
        try:
            yield
        finally:
            if started_here and stop:
                self.stop()

    # -------------------------------------------------------------------- stop
    def stop(self, *, grace_s: float = 60.0) -> bool:
        """Stop the server cleanly (SIGTERM, then SIGKILL after ``grace_s``).

        Returns whether a server was running.
        """
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _terminate(pid, grace_s=grace_s)
        self.pid_file.unlink(missing_ok=True)
        return True


def _settings(settings: dict[str, str]) -> str:
    """``settings`` as lines of neo4j.conf."""
    return "".join(f"{name}={value}\n" for name, value in settings.items())


def _quoted(value: str) -> str:
    """``value`` as one argument of a picocli argument file: double-quoted, with its
    backslashes and double quotes escaped (spaces and ``#`` are then plain characters)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def resolve_password(settings: Settings) -> str:
    """The Neo4j password: ``NEO4J_PASSWORD``, else the local instance's, generated (and its
    file written) on first use; an explicit step, so that reading settings never writes."""
    if settings.neo4j_password is not None:
        return settings.neo4j_password.get_secret_value()
    if not settings.managed:
        raise ValueError(
            f"NEO4J_PASSWORD is not set, and NEO4J_URI={settings.neo4j_uri} points at an external "
            "server whose password graphrails cannot know. Set NEO4J_PASSWORD."
        )
    return local_password(settings)


def local_password(settings: Settings) -> str:
    """The password of the local instance, generated on first use and kept in a 0600 file."""
    path = settings.password_file
    if path.exists():
        return path.read_text().strip()
    if (settings.instance_dir / "data" / "dbms" / "auth.ini").exists():
        raise ServerError(
            f"The local instance {settings.instance_dir} already has a password but its file "
            f"{path} is gone. Set NEO4J_PASSWORD to it, or remove the instance folder."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return password


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ServerError("Java is not installed (no 'java' on PATH, no JAVA_HOME); Neo4j 5.26 "
                          "needs Java 17 or 21.")  # fmt: skip
    match = re.search(r'version "(\d+)(?:\.(\d+))?', _java_version(java))
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" style
        major = int(match.group(2))
    if major not in SUPPORTED_JAVA:
        raise ServerError(
            f"{java} is Java {major or 'of unknown version'}; Neo4j 5.26 needs Java 17 or 21. "
            "Point JAVA_HOME at one of those."
        )
    return java


@functools.cache
def _java_version(java: str) -> str:
    """What ``java -version`` prints (the exact build: a class archive fits one build only)."""
    return subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports of 127.0.0.1 that nothing listens on now (the OS's choice)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def _plan_statements(settings: Settings) -> None:
    """The schema, then ``EXPLAIN`` of each statement of ``cypher/<ARCHIVE_STATEMENTS>`` (it
    needs no parameters; Neo4j's notifications of an empty graph are not asked for)."""
    from neo4j import GraphDatabase

    from graph.queries import CYPHER_DIR, query
    from graph.schema import init_schema

    names = sorted(p.stem for p in (CYPHER_DIR / ARCHIVE_STATEMENTS).glob("*.cypher"))
    auth = (settings.neo4j_user, resolve_password(settings))
    with GraphDatabase.driver(settings.uri, auth=auth, notifications_min_severity="OFF") as driver:
        init_schema(driver, database=settings.neo4j_database)
        for name in names:
            if not name.endswith(".part"):
                driver.execute_query(f"EXPLAIN {query(f'{ARCHIVE_STATEMENTS}/{name}')}",
                                     database_=settings.neo4j_database)  # fmt: skip


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _is_our_server(pid: int, instance_dir: Path) -> bool:
    """True if ``pid`` is alive and is the Neo4j server of ``instance_dir`` (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    args = [a.decode(errors="replace") for a in cmdline]
    return MAIN_CLASS in args and f"--home-dir={instance_dir}" in args


def _terminate(pid: int, *, grace_s: float) -> bool:
    """SIGTERM, then SIGKILL after ``grace_s``; True if ``pid`` ended within the grace."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if not fields.get("State", "").strip().startswith("Z"):
        return True
    # A zombie leader may still have JVM threads shutting down; the process is
    # gone only when it is reapable. Reap it if it is our child.
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return int(fields.get("Threads", "1").strip() or 1) > 1
    return reaped != pid


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
