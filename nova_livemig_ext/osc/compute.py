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

"""The few calls of nova's compute API that the executor makes.

Everything that changes the cloud goes through here, at microversions
that never force a host: live migrations and evacuations at 2.68, so that
nova's scheduler and its filters judge every move when it is made, and
service updates at 2.53. The executor's unit tests replace this class by
a fake nova.
"""

LIVE_MIGRATION = 'live-migration'
EVACUATION = 'evacuation'
# From 2.68 neither a live migration nor an evacuation can be forced.
MOVE_MICROVERSION = '2.68'
# instance_uuid and migration_type filters with migration uuids (2.59).
MIGRATIONS_MICROVERSION = '2.59'
# Services by uuid, updated with PUT /os-services/{service_id} (2.53).
SERVICES_MICROVERSION = '2.53'
# Migration statuses after which nova does no more with the move.
ENDED = frozenset(('completed', 'done', 'error', 'failed', 'cancelled'))
SUCCEEDED = frozenset(('completed', 'done'))


class Compute:
    """nova's compute API as the executor and the commands need it.

    :param client: the plugin's :class:`~nova_livemig_ext.osc.plugin.Client`.
    """

    def __init__(self, client):
        self._client = client

    def server(self, server_id):
        """``{id, name, host, status, task_state}``, or None once deleted."""
        body = self._client.compute_get('/servers/%s' % server_id,
                                        microversion=MOVE_MICROVERSION,
                                        missing_ok=True)
        if body is None:
            return None
        server = body['server']
        return {'id': server['id'], 'name': server.get('name'),
                'host': server.get('OS-EXT-SRV-ATTR:host'),
                'status': server.get('status'),
                'task_state': server.get('OS-EXT-STS:task_state')}

    def servers_on(self, host):
        """The servers nova places on ``host`` (every project), by id."""
        body = self._client.compute_get(
            '/servers/detail', microversion=MOVE_MICROVERSION,
            all_tenants=1, host=host)
        return {s['id']: {'id': s['id'], 'name': s.get('name'),
                          'host': s.get('OS-EXT-SRV-ATTR:host'),
                          'status': s.get('status'),
                          'task_state': s.get('OS-EXT-STS:task_state')}
                for s in body.get('servers', [])}

    def migrations(self, server_id, kind):
        """The server's migrations of one kind, oldest first."""
        body = self._client.compute_get(
            '/os-migrations', microversion=MIGRATIONS_MICROVERSION,
            instance_uuid=server_id, migration_type=kind)
        return sorted(body.get('migrations', []), key=lambda m: m['id'])

    def live_migrate(self, server_id, host=None):
        """Ask for a live migration; ``host`` is still judged by nova."""
        self._client.compute_post(
            '/servers/%s/action' % server_id,
            {'os-migrateLive': {'host': host, 'block_migration': 'auto'}},
            microversion=MOVE_MICROVERSION)

    def evacuate(self, server_id):
        """Ask for an evacuation, nova's scheduler choosing the host.

        At 2.68 the server keeps its power state (from 2.95 nova stops
        evacuated servers) and nova itself finds out whether its disk is
        on storage the destination shares.
        """
        self._client.compute_post('/servers/%s/action' % server_id,
                                  {'evacuate': {}},
                                  microversion=MOVE_MICROVERSION)

    def compute_service(self, host):
        """The host's nova-compute service, or None when there is none.

        :returns: ``{id, host, status, state, forced_down,
            disabled_reason, ...}`` as nova's os-services shows it.
        """
        body = self._client.compute_get(
            '/os-services', microversion=SERVICES_MICROVERSION,
            binary='nova-compute', host=host)
        services = body.get('services', [])
        return services[0] if services else None

    def disable_service(self, service_id, reason):
        """Disable a compute service so that nothing new lands on it."""
        self._client.compute_put(
            '/os-services/%s' % service_id,
            {'status': 'disabled', 'disabled_reason': reason},
            microversion=SERVICES_MICROVERSION)

    def reset_state(self, server_id, state):
        """Set a server's vm_state back (nova's os-resetState)."""
        self._client.compute_post(
            '/servers/%s/action' % server_id,
            {'os-resetState': {'state': state}},
            microversion=MOVE_MICROVERSION)
