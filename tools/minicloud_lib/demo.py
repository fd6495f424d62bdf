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

"""The demo: what an operator sees, through the real ``openstack`` CLI.

Two projects boot servers; the admin looks at the hosts, tries three moves
that the plugin refuses (zone, storage, headroom), then live-migrates a
server with the scheduler choosing between two allowed hosts, and drains
a host for maintenance. Every
command is printed before its output, ready to paste after ``source
.minicloud/openrc``; the scheduler's own log lines explain each decision.

Lookups the operator need not see go through openstacksdk; keystone and
nova objects are looked for first and created only when missing, so that
running the demo again changes nothing and logs no conflict.
"""

import os
import re
import shlex
import subprocess
import textwrap
import time

from minicloud_lib import apps
from minicloud_lib import cloud
from minicloud_lib import configs

SCHEDULER_LOG = os.path.join(cloud.LOGS, 'nova-scheduler.log')
USERS = (('alice', 'demo-a'), ('bob', 'demo-b'))
SOURCE, PEER, OTHER_DOMAIN, OTHER_ZONE = (h.name for h in configs.HOSTS)
HEADROOM_AGGREGATE = 'demo-headroom'
HEADROOM_CAP = '0.25'
# What openstackclient prints that says nothing here.
NOISE = re.compile(r'^Complete, check success/failure by .*$', re.M)
# "BadRequestException: 400: Client Error for url: http://..., message"
SDK_ERROR = re.compile(r'^(\w+Exception): (\d+): .*? for url: \S+, (.*)$',
                       re.M)


def say(text):
    print('\n' + textwrap.fill(' '.join(text.split()), 78))


def trimmed(output):
    """openstackclient's output without its noise; errors in one line."""
    output = NOISE.sub('', output)
    output = SDK_ERROR.sub(
        lambda m: 'Error: %s (HTTP %s)' % (m.group(3), m.group(2)), output)
    return output.strip()


def osc(*args, user='admin', project='admin', check=True):
    """Run ``openstack`` as a keystone user; print the command and output."""
    env = dict(os.environ, **cloud.openrc(user, project))
    argv = [os.path.join(cloud.BIN, 'openstack')] + list(args)
    print('\n[%s@%s]$ openstack %s' % (user, project, shlex.join(args)))
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    output = trimmed(result.stdout + result.stderr)
    if output:
        print(output)
    if check and result.returncode:
        raise cloud.StartError('openstack %s failed:\n%s' % (
            shlex.join(args), output))
    return result


def scheduler_lines(since, server_id, wait=10):
    """The plugin's scheduler log lines about a server since an offset.

    The scheduler writes them before it answers; a moment is allowed for
    the log to reach the file.
    """
    deadline = time.monotonic() + wait
    while True:
        with open(SCHEDULER_LOG, errors='replace') as f:
            f.seek(since)
            lines = [line for line in f
                     if 'nova_livemig_ext' in line and server_id in line]
        if lines or time.monotonic() > deadline:
            return [(line.split()[3],
                     line.split('] ', 1)[-1].split(' _judge ')[0].strip())
                    for line in lines]
        time.sleep(0.5)


def why(since, server_id):
    """Print the scheduler's reasons, the same way after every decision."""
    lines = scheduler_lines(since, server_id)
    print('Why (nova-scheduler\'s log):')
    if not lines:
        print('  (no line of the plugin in %s)' % SCHEDULER_LOG)
    for level, message in lines:
        print('  %s: %s' % (level, message.replace(server_id, 'db-1')))


def log_size():
    return os.path.getsize(SCHEDULER_LOG)


def ensure_users(conn):
    say('1. Two projects, each with a user (keystone).')
    identity = conn.identity
    member = identity.find_role('member')
    there = []
    for user, project in USERS:
        found_project = next(iter(identity.projects(name=project)), None)
        found_user = next(iter(identity.users(name=user)), None)
        if found_project is None:
            osc('project', 'create', '-c', 'name', '-c', 'id', project)
            found_project = next(iter(identity.projects(name=project)))
        if found_user is None:
            osc('user', 'create', '--project', project, '--password',
                configs.PASSWORD, '-c', 'name', '-c', 'id', user)
            found_user = next(iter(identity.users(name=user)))
        if not list(identity.role_assignments(
                user_id=found_user.id, scope_project_id=found_project.id,
                role_id=member.id)):
            osc('role', 'add', '--project', project, '--user', user,
                'member')
        else:
            there.append('%s (project %s)' % (user, project))
    if there:
        print('%s: there from an earlier run.' % ', '.join(there))
    # The operator also places a server for demo-a on a chosen host.
    admin = identity.find_user('admin')
    demo_a = next(iter(identity.projects(name='demo-a')))
    identity.assign_project_role_to_user(demo_a, admin,
                                         identity.find_role('admin'))


def find_server(conn, name):
    for server in conn.compute.servers(all_projects=True, name='^%s$' % name):
        return server
    return None


def ensure_server(conn, name, flavor, *placement, user, project,
                  host=None):
    """Boot a server unless it is there (on ``host``, when one is named).

    :returns: the server's id.
    """
    server = find_server(conn, name)
    if server is not None and server.status == 'ACTIVE' and (
            host is None or server.compute_host == host):
        print('%s (%s) is on %s from an earlier run.' % (
            name, project, server.compute_host))
        return server.id
    if server is not None:
        print('%s from an earlier run is %s on %s: it is booted again.' % (
            name, server.status, server.compute_host))
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server)
    osc('server', 'create', '--flavor', flavor, '--image', apps.IMAGE_ID,
        '--nic', 'none', '--wait', *placement, '-c', 'id', '-c', 'status',
        name, user=user, project=project)
    server = find_server(conn, name)
    print('%s booted on %s.' % (name, server.compute_host))
    return server.id


def where(conn, server_id):
    server = conn.compute.get_server(server_id)
    return server.compute_host, server.status


def refused(conn, server_id, host):
    """Ask first whether the host may take the server, then try; say why.

    The destinations API answers before the move with the rule the
    scheduler applies; the scheduler's log says the same after it.
    """
    osc('livemig', 'server', 'destinations', server_id, '--host', host,
        '-c', 'Host', '-c', 'Eligible', '-c', 'Reasons')
    since = log_size()
    osc('server', 'migrate', '--live-migration', '--host', host, server_id,
        check=False)
    why(since, server_id)
    at, status = where(conn, server_id)
    print('db-1 is still %s on %s.' % (status, at))


def host_views(conn):
    """Host name -> the os-livemig host entry (the API the CLI reads)."""
    body = conn.compute.get('/os-livemig/hosts').json()
    return {entry['host']: entry for entry in body['hosts']}


def rank_one(conn, server_id):
    """The hosts the destinations API ranks first for a server.

    Hosts of equal weight share rank 1 (say, two empty hosts): nova's
    scheduler may pick either.
    """
    body = conn.compute.get(
        '/os-livemig/servers/%s/destinations' % server_id).json()
    return ' or '.join(d['host'] for d in body['destinations']
                       if d['rank'] == 1) or None


def ranking(conn, candidates, flavor):
    """Print, per allowed host, what the move leaves under the caps.

    The numbers behind the weigher's ``spread`` ranking: per resource
    class ``(cap x capacity - used - demand) / capacity``, the tightest
    class counting, from the host views.
    """
    demand = {'VCPU': flavor.vcpus, 'MEMORY_MB': flavor.ram,
              'DISK_GB': flavor.disk}
    views = host_views(conn)
    for host in candidates:
        resources = views[host]['resources']
        parts = []
        tightest = None
        for rc, amount in demand.items():
            entry = resources[rc]
            left = (entry['max_utilization'] * entry['capacity'] -
                    entry['used'] - amount) / entry['capacity']
            parts.append('%s %d+%d of %d allowed' % (
                rc, entry['used'], amount, entry['allowed']))
            if tightest is None or left < tightest[0]:
                tightest = (left, rc)
        print('  %s: %s; headroom after the move %.2f (%s)' % (
            host, ', '.join(parts), tightest[0], tightest[1]))


def run_demo():
    began = time.monotonic()
    conn = cloud.admin_connection()
    ensure_users(conn)
    say('2. The users boot servers: alice with no availability zone, bob in '
        'az2. The operator places db-1 of demo-a on %s (--host, an '
        'admin-only choice), also without a zone.' % SOURCE)
    ensure_server(conn, 'web-1', 'm1.small', user='alice', project='demo-a')
    ensure_server(conn, 'app-1', 'm1.small', '--availability-zone', 'az2',
                  user='bob', project='demo-b')
    db = ensure_server(conn, 'db-1', 'm1.small', '--host', SOURCE,
                       user='admin', project='demo-a', host=SOURCE)

    say('3. Where could servers go? Every host with its zone, migration '
        'domain and, per resource class, what placement counts as used and '
        'what the scheduler allows in use after a move (the cap x '
        'capacity); then one host in sections: its facts, its resources, '
        'one row per project, the moves in progress; then its servers.')
    osc('livemig', 'host', 'list')
    osc('livemig', 'host', 'show', SOURCE)
    osc('livemig', 'host', 'server', 'list', SOURCE)

    say('4. A move that breaks a rule: the operator names %s (az2, same '
        'storage). db-1 was booted without a zone, so nova alone would '
        'accept it; the plugin refuses, and the server stays where it is.'
        % OTHER_ZONE)
    refused(conn, db, OTHER_ZONE)

    say('5. The same for %s: in az1, but on other storage (ceph-b).'
        % OTHER_DOMAIN)
    refused(conn, db, OTHER_DOMAIN)

    say('6. Headroom: the operator keeps %s for light load, capping its RAM '
        'at %d%% through aggregate metadata. Placement would take db-1 '
        '(the host has the room); the plugin refuses.'
        % (PEER, float(HEADROOM_CAP) * 100))
    if conn.compute.find_aggregate(HEADROOM_AGGREGATE) is None:
        osc('aggregate', 'create', '--property',
            'livemig_ram_max_utilization=%s' % HEADROOM_CAP, '-c', 'name',
            '-c', 'properties', HEADROOM_AGGREGATE)
    try:
        osc('aggregate', 'add', 'host', '-c', 'hosts', HEADROOM_AGGREGATE,
            PEER)
        osc('livemig', 'host', 'list', '--aggregate', HEADROOM_AGGREGATE,
            '-c', 'Host', '-c', 'RAM MB used/allowed')
        refused(conn, db, PEER)
    finally:
        # The aggregate stays, empty, so that the commands above still
        # run as printed.
        osc('aggregate', 'remove', 'host', '-c', 'hosts',
            HEADROOM_AGGREGATE, PEER)

    say('7. A choice: the storage team exports nfs-a to %s too (it joins '
        'aggregate nfs-a), so two hosts may take db-1. The operator asks '
        'where it may go (ranked as nova\'s scheduler would choose: the '
        'weigher, spread, prefers the most headroom left after the move, '
        'the tightest resource counting), then lets the scheduler choose.'
        % OTHER_DOMAIN)
    osc('aggregate', 'add', 'host', '-c', 'hosts', 'nfs-a', OTHER_DOMAIN)
    try:
        flavor = conn.compute.find_flavor('m1.small')
        osc('livemig', 'server', 'destinations', db)
        print('What the move of db-1 (m1.small) leaves on each allowed '
              'host:')
        ranking(conn, (PEER, OTHER_DOMAIN), flavor)
        expected = rank_one(conn, db)
        since = log_size()
        osc('server', 'migrate', '--live-migration', '--wait', db)
        dest, status = where(conn, db)
        print('db-1 moved from %s to %s and is %s; rank 1 of its '
              'destinations was %s.' % (SOURCE, dest, status, expected))
        why(since, db)
    finally:
        osc('aggregate', 'remove', 'host', '-c', 'hosts', 'nfs-a',
            OTHER_DOMAIN)

    say('8. The usage of every host right after the move, from placement '
        '(no 60-second lag):')
    osc('livemig', 'host', 'list', '-c', 'Host', '-c', 'Instances', '-c',
        'VCPU used/allowed', '-c', 'RAM MB used/allowed')
    say('9. Maintenance: %s needs a firmware update. The operator boots '
        'two more servers there, then drains it: the plan (a destination '
        'for every server, judged as the scheduler would), the compute '
        'service disabled so that nothing new lands, then live migrations '
        'through nova\'s API, two at a time, each followed to its end.'
        % SOURCE)
    for name in ('batch-1', 'batch-2'):
        ensure_server(conn, name, 'm1.tiny', '--host', SOURCE, user='admin',
                      project='demo-a', host=SOURCE)
    try:
        osc('livemig', 'host', 'drain', SOURCE, '--reason',
            'firmware update', '--max-concurrent', '2')
    finally:
        # Back in service after the maintenance, so that the demo and the
        # commands above run again as printed.
        osc('compute', 'service', 'set', '--enable', SOURCE, 'nova-compute')
    print('%s is empty: %s' % (SOURCE, ', '.join(
        '%s on %s' % (name, where(conn, find_server(conn, name).id)[0])
        for name in ('batch-1', 'batch-2'))))

    say('10. Power saving: at night the load is low. A server lands on '
        '%s; the operator asks for a consolidation plan of az1 (the fewest '
        'hosts holding servers, every move judged as the scheduler would, '
        'zones, storage domains, caps and server groups kept), then runs '
        'it: the hosts it empties are disabled so that nothing lands on '
        'them and they can be powered off.' % SOURCE)
    ensure_server(conn, 'night-1', 'm1.tiny', '--host', SOURCE,
                  user='admin', project='demo-a', host=SOURCE)
    osc('livemig', 'consolidate', '--availability-zone', 'az1', '--dry-run')
    try:
        osc('livemig', 'consolidate', '--availability-zone', 'az1',
            '--disable-emptied', '--reason', 'power saving')
    finally:
        # Powered on again in the morning, so that the demo and the
        # commands above run again as printed.
        for host in (SOURCE, PEER, OTHER_DOMAIN):
            osc('compute', 'service', 'set', '--enable', host,
                'nova-compute')

    say('11. In the morning the load comes back: the operator rebalances '
        'the hosts of az1 on storage nfs-a, at most two live migrations off '
        'the busiest host towards the quietest, by placement\'s allocations '
        '(--measure cpu uses what nova\'s compute monitors measure, where '
        'they run).')
    osc('livemig', 'balance', '--availability-zone', 'az1', '--aggregate',
        'nfs-a', '--max-moves', '2')

    say('The walk-through took %.0f s. To try the commands yourself (each '
        'printed above runs as printed):' % (time.monotonic() - began))
    print('  source %s' % shlex.quote(os.path.join(cloud.HOME, 'openrc')))
    print('  openstack help livemig')
