# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The local cloud's processes: what runs, where it logs, start and stop.

Every service is a process of its own, started in a session of its own
with its output in ``$MINICLOUD_DIR/logs/<service>.log``; its pid file
holds the pid and the process's start time.
"""

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import time

from minicloud_lib import configs

HOME = os.path.abspath(os.environ.get('MINICLOUD_DIR', '.minicloud'))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# The cloud's own virtualenv (tools/minicloud makes it); the end-to-end
# tests import this module from another one.
BIN = os.path.join(HOME, 'venv', 'bin')
ETC = os.path.join(HOME, 'etc')
DATA = os.path.join(HOME, 'data')
LOGS = os.path.join(HOME, 'logs')
RUN = os.path.join(HOME, 'run')
START_TIMEOUT = float(os.environ.get('MINICLOUD_START_TIMEOUT', '90'))
SETTLE_SECONDS = 0.5


class StartError(Exception):
    """A service did not start; the message says which and why."""


@dataclasses.dataclass
class Service:
    name: str
    argv: list
    port: int | None = None
    env: dict = dataclasses.field(default_factory=dict)
    # An HTTP path that answers when the service is ready.
    probe: str | None = None

    @property
    def log(self):
        return os.path.join(LOGS, self.name + '.log')

    @property
    def pidfile(self):
        return os.path.join(RUN, self.name + '.pid')


def _gunicorn(name, factory, port, env=None, threads=4):
    return Service(
        name, [os.path.join(BIN, 'gunicorn'), '--bind',
               '127.0.0.1:%d' % port, '--workers', '1', '--threads',
               str(threads), '--timeout', '120', '--graceful-timeout', '5',
               # Idle connections stay open longer than the pauses of the
               # clients (gunicorn's 2 s default closes them under clients
               # that then reuse them: a connection reset).
               '--keep-alive', '75',
               '--access-logfile', '-', '--pythonpath',
               os.path.join(REPO, 'tools'), 'minicloud_lib.apps:%s()' %
               factory],
        port=port, env=env or {}, probe='/')


def _nova(name, binary, *extra_conf):
    """A nova service; every one but nova-compute also reads nova-db.conf."""
    argv = [os.path.join(BIN, binary), '--config-file',
            os.path.join(ETC, 'nova.conf')]
    if binary != 'nova-compute':
        extra_conf = (os.path.join(ETC, 'nova-db.conf'),) + extra_conf
    for conf in extra_conf:
        argv += ['--config-file', conf]
    return Service(name, argv + ['--log-file', os.path.join(LOGS,
                                                            name + '.log')])


def services():
    """Every service in start order (stopped in the reverse order)."""
    ports = configs.PORTS
    rabbit_home = os.path.join(DATA, 'rabbitmq')
    return [
        Service('mariadb', [
            shutil.which('mariadbd') or '/usr/sbin/mariadbd',
            '--no-defaults', '--user=root',
            '--datadir=' + os.path.join(DATA, 'mariadb'),
            '--port=%d' % ports['mariadb'], '--bind-address=127.0.0.1',
            '--socket=' + os.path.join(RUN, 'mariadb.sock'),
            '--pid-file=' + os.path.join(RUN, 'mariadbd.pid'),
            '--skip-name-resolve', '--skip-log-bin',
            '--max-connections=1000', '--innodb-buffer-pool-size=128M',
            '--innodb-flush-log-at-trx-commit=0'],
            port=ports['mariadb']),
        Service('rabbitmq', ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
                port=ports['rabbitmq'], env=_rabbit_env(rabbit_home)),
        _gunicorn('keystone', 'keystone', ports['keystone'],
                  {'OS_KEYSTONE_CONFIG_FILES':
                   os.path.join(ETC, 'keystone.conf')}),
        _gunicorn('glance', 'glance_stub', ports['glance'], threads=2),
        _gunicorn('neutron', 'neutron_stub', ports['neutron'], threads=2),
        _gunicorn('placement', 'placement', ports['placement'],
                  {'OS_PLACEMENT_CONFIG_DIR': ETC}),
        _gunicorn('nova-api', 'nova_api', ports['nova-api'],
                  {'OS_NOVA_CONFIG_DIR': ETC,
                   'OS_NOVA_CONFIG_FILES':
                   'api-paste.ini;nova.conf;nova-db.conf'},
                  threads=8),
        _nova('nova-conductor', 'nova-conductor'),
        _nova('nova-scheduler', 'nova-scheduler'),
    ] + [_nova('nova-compute-' + host.name, 'nova-compute',
               os.path.join(ETC, host.name + '.conf'))
         for host in configs.HOSTS]


def _rabbit_env(home):
    return {
        'HOME': home,
        'RABBITMQ_NODENAME': 'minicloud@localhost',
        'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
        'RABBITMQ_NODE_PORT': str(configs.PORTS['rabbitmq']),
        'RABBITMQ_DIST_PORT': str(configs.PORTS['rabbitmq-dist']),
        'ERL_EPMD_PORT': str(configs.PORTS['epmd']),
        'ERL_EPMD_ADDRESS': '127.0.0.1',
        'RABBITMQ_MNESIA_BASE': os.path.join(home, 'mnesia'),
        'RABBITMQ_LOG_BASE': LOGS,
        'RABBITMQ_LOGS': '-',
        'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(home,
                                                      'enabled_plugins'),
        'RABBITMQ_CONFIG_FILE': os.path.join(home, 'rabbitmq'),
        'RABBITMQ_PID_FILE': os.path.join(RUN, 'rabbitmq-beam.pid'),
    }


# -- processes -------------------------------------------------------------

def pid_of(service):
    """The pid of the service's running process, or None.

    The pid file holds the pid and the process's start time, so a pid
    reused by another program is not mistaken for the service.
    """
    try:
        with open(service.pidfile) as f:
            pid, started = f.read().split()
        if _start_time(int(pid)) == started and not _zombie(int(pid)):
            return int(pid)
    except (OSError, ValueError):
        pass
    return None


def _start_time(pid):
    with open('/proc/%d/stat' % pid) as f:
        return f.read().rsplit(')', 1)[1].split()[19]


def port_open(port, timeout=0.5):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path, lines=25):
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return '(no log at %s)\n' % path


def _http_ok(port, path):
    import http.client
    try:
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
        conn.request('GET', path)
        status = conn.getresponse().status
        conn.close()
        return status < 500
    except OSError:
        return False


def start(service):
    """Start one service unless it runs; wait until it answers."""
    if pid_of(service):
        print('  %-24s already running' % service.name)
        return False
    if service.port and port_open(service.port):
        raise StartError(
            'port %d, needed by %s, is taken by another program:\n%s' % (
                service.port, service.name, _who_listens(service.port)))
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, 'tools'),
               **service.env)
    with open(service.log, 'ab') as log:
        proc = subprocess.Popen(service.argv, stdout=log,
                                stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=HOME)
    with open(service.pidfile, 'w') as f:
        f.write('%d %s' % (proc.pid, _start_time(proc.pid)))
    began = time.monotonic()
    deadline = began + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError('%s exited with code %s while starting; the '
                             'last lines of %s:\n%s' % (
                                 service.name, proc.returncode, service.log,
                                 tail(service.log)))
        # A service without a port is started once it has not exited for
        # a moment; later failures show when the cloud waits for it.
        if (service.port is None and
                time.monotonic() - began > SETTLE_SECONDS) or (
                service.port and port_open(service.port) and (
                    service.probe is None or
                    _http_ok(service.port, service.probe))):
            print('  %-24s started (pid %d)' % (service.name, proc.pid))
            return True
        time.sleep(0.3)
    raise StartError('%s did not answer on port %s within %d s; the last '
                     'lines of %s:\n%s' % (service.name, service.port,
                                           START_TIMEOUT, service.log,
                                           tail(service.log)))


def _who_listens(port):
    ss = shutil.which('ss')
    if not ss:
        return '(ss is not installed to tell which)'
    out = subprocess.run([ss, '-ltnpH', 'sport = :%d' % port],
                         capture_output=True, text=True).stdout
    return out.strip() or '(unknown)'


def stop(service, timeout=15):
    pid = pid_of(service)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and os.path.exists('/proc/%d' % pid):
        if _zombie(pid):
            break
        time.sleep(0.2)
    else:
        if os.path.exists('/proc/%d' % pid):
            os.killpg(pid, signal.SIGKILL)
    os.unlink(service.pidfile)
    print('  %-24s stopped' % service.name)
    return True


def _zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except OSError:
        return True


def run(argv, what, **kwargs):
    """Run a setup command; on failure say what failed and show output."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, 'tools'),
               **kwargs.pop('env', {}))
    result = subprocess.run(argv, capture_output=True, text=True, env=env,
                            cwd=HOME, **kwargs)
    if result.returncode:
        raise StartError('%s failed (%s exited %d):\n%s%s' % (
            what, os.path.basename(argv[0]), result.returncode,
            result.stdout[-3000:], result.stderr[-3000:]))
    return result.stdout
