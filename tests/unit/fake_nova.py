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

"""A fake nova for the executor: servers and migrations as state machines.

It answers the calls of :class:`nova_livemig_ext.osc.compute.Compute`.
Time moves only when the executor sleeps: each sleep is one tick, and on
each tick every migration in flight takes one step (accepted, running,
then its end), as nova's conductor and computes would.
"""

from osc_lib import exceptions

from nova_livemig_ext.osc import compute

MOVING = {compute.LIVE_MIGRATION: 'migrating',
          compute.EVACUATION: 'rebuilding'}


class FakeNova:
    """Servers, migrations, compute services, and a clock.

    :param hosts: the hosts a move may land on, tried in turn.

    ``service`` is host1's compute service; :meth:`add_service` adds one
    per host for the commands that move servers between many hosts.
    """

    def __init__(self, hosts=('host2', 'host3')):
        self.hosts = list(hosts)
        self.servers = {}
        self.records = []
        self.now = 0.0
        self.calls = []
        self.max_in_flight = 0
        # server id -> how its next move goes: (ticks, 'completed'|'error').
        self.script = {}
        # server id -> CommandError message: the API refuses its move.
        self.refuse = {}
        # tick number -> exception raised by that sleep (Ctrl-C, say).
        self.interrupt_at = {}
        self.ticks = 0
        self.services = {}
        self.service = self.add_service('host1')
        self.disabled_with = None

    # -- set-up ------------------------------------------------------------

    def add_server(self, server_id, host='host1', status='ACTIVE',
                   task_state=None, name=None):
        self.servers[server_id] = {'id': server_id,
                                   'name': name or 'vm-' + server_id,
                                   'host': host, 'status': status,
                                   'task_state': task_state}
        return self.servers[server_id]

    def add_service(self, host, status='enabled', disabled_reason=None):
        """The compute service of ``host``: ids svc-1, svc-2.. by order."""
        self.services[host] = {
            'id': 'svc-%d' % (len(self.services) + 1), 'host': host,
            'status': status, 'state': 'up', 'forced_down': False,
            'disabled_reason': disabled_reason}
        return self.services[host]

    def add_migration(self, server_id, kind, status, dest=None, steps=2,
                      outcome='completed'):
        """A migration nova is making already (an earlier run's)."""
        server = self.servers[server_id]
        migration = {'id': len(self.records) + 1,
                     'instance_uuid': server_id, 'migration_type': kind,
                     'source_compute': server['host'],
                     'dest_compute': dest, 'status': status,
                     '_steps': steps, '_outcome': outcome}
        self.records.append(migration)
        if status not in compute.ENDED:
            server['task_state'] = MOVING[kind]
        return migration

    # -- the Compute interface ---------------------------------------------

    def server(self, server_id):
        self.calls.append(('server', server_id))
        server = self.servers.get(server_id)
        return dict(server) if server else None

    def servers_on(self, host):
        return {s['id']: dict(s) for s in self.servers.values()
                if s['host'] == host}

    def migrations_of(self, server_id, kind):
        return [m for m in self.records
                if m['instance_uuid'] == server_id and
                m['migration_type'] == kind]

    def migrations(self, server_id, kind):
        self.calls.append(('migrations', server_id))
        return [{k: v for k, v in m.items() if not k.startswith('_')}
                for m in self.migrations_of(server_id, kind)]

    def live_migrate(self, server_id, host=None):
        self._move(server_id, compute.LIVE_MIGRATION, host)

    def evacuate(self, server_id):
        self._move(server_id, compute.EVACUATION, None)

    def reset_state(self, server_id, state):
        self.calls.append(('reset_state', server_id, state))
        self.servers[server_id]['status'] = state.upper()

    def compute_service(self, host):
        service = self.services.get(host)
        return dict(service) if service else None

    def disable_service(self, service_id, reason):
        self.calls.append(('disable_service', service_id, reason))
        (service,) = [s for s in self.services.values()
                      if s['id'] == service_id]
        service.update(status='disabled', disabled_reason=reason)
        self.disabled_with = reason

    # -- what nova does meanwhile ------------------------------------------

    def in_flight(self):
        return sum(1 for m in self.records
                   if m['status'] not in compute.ENDED)

    def _move(self, server_id, kind, host):
        self.calls.append((kind, server_id, host))
        if server_id in self.refuse:
            raise exceptions.CommandError(self.refuse[server_id])
        server = self.servers[server_id]
        assert server['task_state'] is None, 'moved while moving'
        steps, outcome = self.script.get(server_id, (2, 'completed'))
        source = server['host']
        dest = host or next(h for h in self.hosts if h != source)
        self.add_migration(server_id, kind, 'accepted', dest, steps,
                           outcome)
        self.max_in_flight = max(self.max_in_flight, self.in_flight())

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.ticks += 1
        self.now += seconds
        error = self.interrupt_at.get(self.ticks)
        for migration in self.records:
            if migration['status'] in compute.ENDED:
                continue
            migration['_steps'] -= 1
            if migration['_steps'] > 0:
                migration['status'] = 'running'
                continue
            server = self.servers[migration['instance_uuid']]
            server['task_state'] = None
            if migration['_outcome'] == 'completed':
                server['host'] = migration['dest_compute']
                migration['status'] = (
                    'done' if migration['migration_type'] ==
                    compute.EVACUATION else 'completed')
            else:
                migration['status'] = migration['_outcome']
                if migration['migration_type'] == compute.EVACUATION:
                    server['status'] = 'ERROR'
        if error is not None:
            raise error
