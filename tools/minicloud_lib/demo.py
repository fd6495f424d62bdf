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

Two projects boot servers; the admin looks at the hosts, live-migrates a
server with the scheduler choosing, and tries a move that the plugin
forbids. Every command is printed before its output; the scheduler's own
log lines explain each decision.
"""

import os
import shlex
import subprocess
import textwrap

from minicloud_lib import apps
from minicloud_lib import cloud
from minicloud_lib import configs

SCHEDULER_LOG = os.path.join(cloud.LOGS, 'nova-scheduler.log')
USERS = (('alice', 'demo-a'), ('bob', 'demo-b'))


def say(text):
    print('\n' + textwrap.fill(' '.join(text.split()), 78))


def osc(*args, user='admin', project='admin', check=True, show=True):
    """Run ``openstack`` as a keystone user; print the command and output."""
    env = dict(os.environ, **cloud.openrc(user, project))
    argv = [os.path.join(cloud.BIN, 'openstack')] + list(args)
    if show:
        print('\n[%s@%s]$ openstack %s' % (user, project, shlex.join(args)))
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    output = (result.stdout + result.stderr).rstrip()
    if show and output:
        print(output)
    if check and result.returncode:
        raise cloud.StartError('openstack %s failed:\n%s' % (
            shlex.join(args), output))
    return result


def value(*args, **kwargs):
    return osc(*(args + ('-f', 'value')), show=False,
               **kwargs).stdout.strip()


def scheduler_says(since, server_id):
    """The plugin's scheduler log lines about a server since an offset."""
    with open(SCHEDULER_LOG, errors='replace') as f:
        f.seek(since)
        lines = [line for line in f
                 if 'nova_livemig_ext' in line and server_id in line]
    for line in lines:
        level = line.split()[3]
        message = line.split('] ', 1)[-1].split(' _judge ')[0].strip()
        print('  scheduler %s: %s' % (level, message))


def log_size():
    return os.path.getsize(SCHEDULER_LOG)


def ensure_users():
    say('1. Two projects, each with a user (keystone).')
    for user, project in USERS:
        osc('project', 'create', '--or-show', '-c', 'name', '-c', 'id',
            project)
        osc('user', 'create', '--or-show', '--project', project,
            '--password', configs.PASSWORD, '-c', 'name', '-c', 'id', user)
        osc('role', 'add', '--project', project, '--user', user, 'member')
    # The operator also places a server for demo-a on a chosen host.
    osc('role', 'add', '--project', 'demo-a', '--user', 'admin', 'admin',
        show=False)


def ensure_server(name, flavor, *placement, user, project):
    found = value('server', 'list', '--name', '^%s$' % name, '-c', 'ID',
                  user=user, project=project)
    if found:
        return found.split()[0]
    osc('server', 'create', '--flavor', flavor, '--image', apps.IMAGE_ID,
        '--nic', 'none', '--wait', *placement, '-c', 'id', '-c', 'status',
        '-c', 'OS-EXT-SRV-ATTR:host', name, user=user, project=project)
    return value('server', 'show', name, '-c', 'id', user=user,
                 project=project)


def where(server_id):
    return value('server', 'show', server_id, '-c', 'OS-EXT-SRV-ATTR:host',
                 '-c', 'status').split()


def run_demo():
    ensure_users()
    say('2. The users boot servers: alice with no availability zone, bob in '
        'az2. The operator places db-1 of demo-a on compute1 (--host, an '
        'admin-only choice), also without a zone.')
    ensure_server('web-1', 'm1.small', user='alice', project='demo-a')
    ensure_server('app-1', 'm1.small', '--availability-zone', 'az2',
                  user='bob', project='demo-b')
    db = ensure_server('db-1', 'm1.small', '--host', 'compute1',
                       user='admin', project='demo-a')

    say('3. Where could servers go? Every host with its zone, migration '
        'domain and placement usage; then one host as the 2010 proposal '
        'printed it: totals and one row per project.')
    osc('livemig', 'host', 'list')
    source, status = where(db)
    osc('livemig', 'host', 'show', source)
    osc('livemig', 'host', 'server', 'list', source)

    say('4. Live-migrate db-1 and let the scheduler choose. db-1 was booted '
        'without a zone: nova alone could move it to az2. The plugin keeps '
        'it in az1 and on its storage (nfs-a), with headroom.')
    since = log_size()
    osc('server', 'migrate', '--live-migration', '--wait', db)
    dest, status = where(db)
    print('db-1 moved from %s to %s and is %s. Why there:' % (
        source, dest, status))
    scheduler_says(since, db)

    say('5. A move that breaks a rule: the operator names compute4 (az2, '
        'same storage). nova would accept it; the plugin refuses, and the '
        'server stays where it is.')
    since = log_size()
    osc('server', 'migrate', '--live-migration', '--host', 'compute4', db,
        check=False)
    print('The scheduler explains:')
    scheduler_says(since, db)
    host, status = where(db)
    print('db-1 is still %s on %s.' % (status, host))

    say('6. The same for compute3: in az1, but on other storage (ceph-b).')
    since = log_size()
    osc('server', 'migrate', '--live-migration', '--host', 'compute3', db,
        check=False)
    scheduler_says(since, db)
    host, status = where(db)
    print('db-1 is still %s on %s.' % (status, host))

    say('7. The usage of both hosts right after the move, from placement '
        '(no 60-second lag):')
    osc('livemig', 'host', 'list', '-c', 'Host', '-c', 'Instances', '-c',
        'VCPU used/capacity', '-c', 'RAM MB used/capacity')
    say('Explaining destinations and draining a host come with their own '
        'commands (openstack livemig server destinations, openstack livemig '
        'host drain) once they exist. Credentials: source %s' %
        os.path.join(cloud.HOME, 'openrc'))
