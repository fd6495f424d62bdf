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

"""Start, inspect and stop the local cloud: ``python -m minicloud_lib.cloud``.

Run through ``tools/minicloud``, which installs what is needed first. Every
service is a process of its own with its log in ``$MINICLOUD_DIR/logs``;
``up`` starts whatever is not running yet, so running it twice is fine.
"""

import argparse
import concurrent.futures
import os
import shlex
import shutil
import subprocess
import sys
import time

from minicloud_lib import configs
from minicloud_lib import devstack
from minicloud_lib import services as procs
from minicloud_lib.services import BIN
from minicloud_lib.services import DATA
from minicloud_lib.services import ETC
from minicloud_lib.services import HOME
from minicloud_lib.services import LOGS
from minicloud_lib.services import REPO
from minicloud_lib.services import RUN
from minicloud_lib.services import StartError

# -- setting up ------------------------------------------------------------


def _marker(name):
    return os.path.join(DATA, '.done-' + name)


def once(name, func):
    """Run a setup step unless it completed before."""
    if not os.path.exists(_marker(name)):
        func()
        open(_marker(name), 'w').close()


def write_configs():
    """(Re)write every configuration file.

    nova.conf and api-paste.ini come from the templates, or, with
    ``DEVSTACK_DIR`` set, from the devstack plugin (minicloud_lib.devstack).
    """
    from nova_livemig_ext.api import paste
    for path in (ETC, LOGS, RUN, DATA):
        os.makedirs(path, exist_ok=True)
    devstack_dir = devstack.helpers()
    files = {
        'keystone.conf': configs.keystone_conf(DATA),
        'placement.conf': configs.placement_conf(),
        'nova.conf': configs.nova_conf(DATA, configs.LIVEMIG_OPTIONS,
                                       plugin=devstack_dir is None),
        'nova-db.conf': configs.nova_db_conf(),
    }
    for host in configs.HOSTS:
        files[host.name + '.conf'] = configs.compute_conf(DATA, host)
        os.makedirs(os.path.join(DATA, host.name), exist_ok=True)
    with open(os.path.join(HOME, 'venv', 'etc', 'nova',
                           'api-paste.ini')) as f:
        files['api-paste.ini'] = f.read()
    if devstack_dir is None:
        with open(os.path.join(REPO, 'etc', 'api-paste.ini')) as f:
            files['api-paste.ini'] = paste.mount(files['api-paste.ini'],
                                                 f.read())
    for name, text in files.items():
        with open(os.path.join(ETC, name), 'w') as f:
            f.write(text)
    if devstack_dir is not None:
        devstack.configure(devstack_dir, REPO,
                           os.path.join(ETC, 'nova.conf'),
                           os.path.join(ETC, 'api-paste.ini'),
                           configs.NOVA_FILTERS, configs.LIVEMIG_OPTIONS)
    with open(os.path.join(ETC, 'configured-by'), 'w') as f:
        f.write('the devstack plugin\n' if devstack_dir else 'templates\n')
    _install_driver()
    rabbit = os.path.join(DATA, 'rabbitmq')
    os.makedirs(os.path.join(rabbit, 'mnesia'), exist_ok=True)
    with open(os.path.join(rabbit, 'enabled_plugins'), 'w') as f:
        f.write('[].\n')
    with open(os.path.join(rabbit, 'rabbitmq.conf'), 'w') as f:
        f.write('log.console = true\nlog.file = false\n')


def _install_driver():
    """Make the fake hypervisor loadable as nova.virt.minicloud.

    nova loads ``compute_driver`` from the nova.virt package only; the
    local cloud's virtualenv gets a link there to minicloud_lib/driver.py.
    """
    import nova.virt
    link = os.path.join(os.path.dirname(nova.virt.__file__), 'minicloud.py')
    target = os.path.join(REPO, 'tools', 'minicloud_lib', 'driver.py')
    if os.path.realpath(link) != target:
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)


def _mariadb_install():
    procs.run(['mariadb-install-db', '--no-defaults', '--user=root',
               '--datadir=' + os.path.join(DATA, 'mariadb'),
               '--auth-root-authentication-method=normal', '--skip-test-db'],
              'creating the MariaDB data directory')


def _mariadb_databases():
    sql = ''.join(
        'CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;' % name
        for name in ('keystone', 'placement', 'nova_api', 'nova',
                     'nova_cell0'))
    sql += ("CREATE USER IF NOT EXISTS 'minicloud'@'127.0.0.1' "
            "IDENTIFIED BY '%s';GRANT ALL ON *.* TO 'minicloud'@'127.0.0.1';"
            % configs.PASSWORD)
    procs.run(['mariadb', '--no-defaults', '-uroot',
               '--socket=' + os.path.join(RUN, 'mariadb.sock'), '-e', sql],
              'creating the databases')


def _keystone_manage(*args):
    procs.run([os.path.join(BIN, 'keystone-manage'), '--config-file',
               os.path.join(ETC, 'keystone.conf')] + list(args),
              'keystone-manage ' + args[0])


def _keystone_setup():
    _keystone_manage('db_sync')
    for repo in ('fernet-keys', 'credential-keys'):
        os.makedirs(os.path.join(DATA, 'keystone', repo), exist_ok=True)
    user = ['--keystone-user', 'root', '--keystone-group', 'root']
    _keystone_manage('fernet_setup', *user)
    _keystone_manage('credential_setup', *user)


def _keystone_bootstrap():
    identity = configs.url('keystone', '/v3')
    _keystone_manage('bootstrap', '--bootstrap-password', configs.PASSWORD,
                     '--bootstrap-admin-url', identity,
                     '--bootstrap-internal-url', identity,
                     '--bootstrap-public-url', identity,
                     '--bootstrap-region-id', configs.REGION)


def _nova_manage(*args):
    return procs.run([os.path.join(BIN, 'nova-manage'), '--config-file',
                      os.path.join(ETC, 'nova.conf'), '--config-file',
                      os.path.join(ETC, 'nova-db.conf')] + list(args),
                     'nova-manage ' + ' '.join(args))


def _nova_databases():
    _nova_manage('api_db', 'sync')
    _nova_manage('cell_v2', 'map_cell0')
    _nova_manage('cell_v2', 'create_cell', '--name', 'cell1')
    _nova_manage('db', 'sync')


def connect(user='admin', project='admin', password=configs.PASSWORD):
    """An openstacksdk connection to the local cloud as a keystone user."""
    import openstack
    return openstack.connect(
        auth_url=configs.url('keystone', '/v3'), username=user,
        password=password, project_name=project,
        user_domain_name='Default', project_domain_name='Default',
        region_name=configs.REGION, compute_api_version=configs.MICROVERSION,
        # A connection a server closes as the client reuses it is asked
        # again rather than failing the caller.
        connect_retries=2)


def admin_connection():
    return connect()


CATALOG = (
    ('placement', 'placement', configs.url('placement')),
    ('nova', 'compute', configs.url('nova-api', '/v2.1')),
    ('glance', 'image', configs.url('glance')),
    ('neutron', 'network', configs.url('neutron')),
)


def _catalog(conn):
    """Service users and endpoints (find or create)."""
    identity = conn.identity
    service_project = (identity.find_project('service') or
                       identity.create_project(name='service',
                                               domain_id='default'))
    admin_role = identity.find_role('admin')
    for user in ('nova', 'placement'):
        found = identity.find_user(user) or identity.create_user(
            name=user, password=configs.PASSWORD, domain_id='default')
        identity.assign_project_role_to_user(service_project, found,
                                             admin_role)
    for name, kind, address in CATALOG:
        service = identity.find_service(name) or identity.create_service(
            name=name, type=kind)
        have = {e.interface for e in identity.endpoints(
            service_id=service.id)}
        for interface in ('public', 'internal', 'admin'):
            if interface not in have:
                identity.create_endpoint(
                    service_id=service.id, interface=interface,
                    url=address, region_id=configs.REGION)


def _wait_for_computes(conn, nova):
    """Wait until every nova-compute reports up and its node is mapped.

    Any nova service that exits meanwhile is named with its last log lines.
    """
    names = {host.name for host in configs.HOSTS}
    deadline = time.monotonic() + procs.START_TIMEOUT
    while True:
        for service in nova:
            if not procs.pid_of(service):
                raise StartError('%s exited while starting; the last lines '
                                 'of %s:\n%s' % (service.name, service.log,
                                                 procs.tail(service.log)))
        up = {s.host for s in conn.compute.services(binary='nova-compute')
              if s.state == 'up'}
        nodes = set()
        if names <= up:
            # A compute node is listed once its host is mapped to the cell.
            _nova_manage('cell_v2', 'discover_hosts')
            nodes = {h.name for h in conn.compute.hypervisors()}
            if names <= nodes:
                return
        if time.monotonic() > deadline:
            late = sorted(names - (up & nodes))
            raise StartError('nova-compute on %s did not report within %d '
                             's; the last lines of its log:\n%s' % (
                                 ', '.join(late), procs.START_TIMEOUT,
                                 procs.tail(os.path.join(
                                     LOGS, 'nova-compute-%s.log' % late[0]))))
        time.sleep(1)


FLAVORS = (
    ('m1.tiny', 1, 512, 1),
    ('m1.small', 1, 2048, 10),
    ('m1.medium', 2, 4096, 20),
)


def _topology(conn):
    """Aggregates for zones and migration domains, and flavors."""
    ensure_aggregates(conn, configs.HOSTS)
    for name, vcpus, ram, disk in FLAVORS:
        if conn.compute.find_flavor(name) is None:
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram,
                                       disk=disk)


def ensure_aggregates(conn, hosts):
    """One aggregate per zone and per migration domain (find or create).

    :param hosts: ``configs.Host`` tuples naming each host's zone and
        domain; the aggregates are named after the zones and domains.
    """
    compute = conn.compute
    groups = {}
    for host in hosts:
        groups.setdefault(('zone', host.availability_zone), []).append(
            host.name)
        groups.setdefault(('domain', host.migration_domain), []).append(
            host.name)
    for (kind, name), members in sorted(groups.items()):
        aggregate = compute.find_aggregate(name)
        if aggregate is None:
            aggregate = compute.create_aggregate(
                name=name,
                availability_zone=name if kind == 'zone' else None)
            if kind == 'domain':
                compute.set_aggregate_metadata(
                    aggregate, {'livemig_domain': name})
        for member in sorted(set(members) - set(aggregate.hosts or ())):
            compute.add_host_to_aggregate(aggregate, member)


def write_openrc():
    """The admin's credentials, and the cloud's client first on PATH.

    The ``openstack`` client with this package's commands lives in the
    cloud's virtualenv: after ``source openrc`` the commands the demo and
    README print run as printed.
    """
    with open(os.path.join(HOME, 'openrc'), 'w') as f:
        f.write('# Credentials of the local cloud\'s admin, and its '
                'openstack client.\n' + ''.join(
                    'export %s=%s\n' % item
                    for item in sorted(openrc().items())) +
                'export PATH=%s${PATH:+:$PATH}\n' % shlex.quote(BIN))


def openrc(user='admin', project='admin'):
    return {
        'OS_AUTH_URL': configs.url('keystone', '/v3'),
        'OS_USERNAME': user, 'OS_PASSWORD': configs.PASSWORD,
        'OS_PROJECT_NAME': project, 'OS_USER_DOMAIN_NAME': 'Default',
        'OS_PROJECT_DOMAIN_NAME': 'Default',
        'OS_REGION_NAME': configs.REGION, 'OS_IDENTITY_API_VERSION': '3',
        'OS_COMPUTE_API_VERSION': configs.MICROVERSION,
    }


# -- commands --------------------------------------------------------------

def up(args):
    began = time.monotonic()
    write_configs()
    by_name = {s.name: s for s in procs.services()}
    print('Starting the local cloud in %s (nova configured by %s)' % (
        HOME, 'the devstack plugin' if devstack.helpers() else 'templates'))
    if not os.path.isdir(os.path.join(DATA, 'mariadb', 'mysql')):
        _mariadb_install()
    procs.start(by_name['mariadb'])
    once('databases', _mariadb_databases)
    # The three databases are independent: set them up side by side
    # while RabbitMQ starts.
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        steps = [
            pool.submit(lambda: (once('keystone', _keystone_setup),
                                 once('keystone-bootstrap',
                                      _keystone_bootstrap))),
            pool.submit(once, 'placement-db', lambda: procs.run(
                [os.path.join(BIN, 'placement-manage'), '--config-file',
                 os.path.join(ETC, 'placement.conf'), 'db', 'sync'],
                'placement-manage db sync')),
            pool.submit(once, 'nova-db', _nova_databases),
        ]
        procs.start(by_name['rabbitmq'])
        for step in steps:
            step.result()
    for name in ('keystone', 'glance', 'neutron'):
        procs.start(by_name[name])
    _catalog(admin_connection())
    # A new token: the first one was issued before the catalog was complete.
    conn = admin_connection()
    nova = [s for s in procs.services() if s.name.startswith('nova-')]
    for service in [by_name['placement']] + nova:
        procs.start(service)
    _wait_for_computes(conn, nova)
    _topology(conn)
    write_openrc()
    print('The cloud is up (%.0f s). Admin credentials: %s' % (
        time.monotonic() - began, os.path.join(HOME, 'openrc')))
    print('Try: source %s; openstack livemig host list' % os.path.join(
        HOME, 'openrc'))


def stop_order(services):
    """The services in waves to stop one after another, each in parallel.

    Every service but RabbitMQ and MariaDB first: none of them waits for
    another while it stops (nova-compute's graceful shutdown makes no call
    to nova-conductor, nova-scheduler or placement). RabbitMQ and MariaDB
    last: a nova service whose RabbitMQ is gone hangs in its shutdown.
    """
    last = {'rabbitmq', 'mariadb'}
    waves = ([s for s in services if s.name not in last],
             [s for s in services if s.name in last])
    return [wave for wave in waves if wave]


def down(args):
    began = time.monotonic()
    stopped = False
    for wave in stop_order(procs.services()):
        with concurrent.futures.ThreadPoolExecutor(len(wave)) as pool:
            stopped = any(list(pool.map(procs.stop, wave))) or stopped
    # epmd outlives RabbitMQ; it is ours when it listens on our port.
    if procs.port_open(configs.PORTS['epmd']) and shutil.which('epmd'):
        subprocess.run(['epmd', '-port', str(configs.PORTS['epmd']),
                        '-kill'], capture_output=True)
    print('The cloud is down (%.0f s).' % (time.monotonic() - began)
          if stopped else 'Nothing was running.')


def status(args):
    rows = []
    for service in procs.services():
        pid = procs.pid_of(service)
        state = 'running' if pid else 'stopped'
        if pid and service.port and not procs.port_open(service.port):
            state = 'not answering'
        rows.append((service.name, state, pid or '-',
                     service.port or '-'))
    print('%-24s %-14s %-8s %s' % ('service', 'state', 'pid', 'port'))
    for row in rows:
        print('%-24s %-14s %-8s %s' % row)
    if all(row[1] == 'running' for row in rows):
        print()
        for service in admin_connection().compute.services():
            print('%-16s %-12s %-9s %s' % (service.binary, service.host,
                                           service.status, service.state))
    return 0 if all(row[1] == 'running' for row in rows) else 3


def wipe(args):
    down(args)
    keep = set() if args.all else {'venv'}
    for name in os.listdir(HOME) if os.path.isdir(HOME) else ():
        if name not in keep:
            path = os.path.join(HOME, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
    print('Wiped %s%s.' % (HOME, '' if args.all else ' (kept the venv)'))


def _one(name):
    found = [s for s in procs.services() if s.name in (name, 'nova-compute-' +
                                                       name)]
    if not found:
        raise StartError('no service named %s; services: %s' % (
            name, ', '.join(s.name for s in procs.services())))
    return found[0]


def start_one(args):
    write_configs()
    procs.start(_one(args.service))


def stop_one(args):
    if not procs.stop(_one(args.service)):
        print('%s was not running' % args.service)


def demo(args):
    from minicloud_lib import demo as demo_mod
    up(args)
    demo_mod.run_demo()


def main(argv=None):
    parser = argparse.ArgumentParser(prog='minicloud', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)
    for name, func in (('up', up), ('demo', demo), ('status', status),
                       ('down', down)):
        commands.add_parser(name).set_defaults(func=func)
    wiper = commands.add_parser('wipe')
    wiper.add_argument('--all', action='store_true',
                       help='remove the virtualenv too')
    wiper.set_defaults(func=wipe)
    for name, func in (('start', start_one), ('stop', stop_one)):
        one = commands.add_parser(name)
        one.add_argument('service', help='e.g. nova-scheduler or compute2')
        one.set_defaults(func=func)
    args = parser.parse_args(argv)
    os.makedirs(HOME, exist_ok=True)
    try:
        return args.func(args) or 0
    except StartError as exc:
        print('minicloud: %s' % exc, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
