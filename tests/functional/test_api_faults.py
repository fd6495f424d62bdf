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

"""A database or placement falters: 503 with nova's body, or a retry.

nova's in-process cloud runs its databases on sqlite, which has no server
to stop, and reaches placement through wsgi-intercept, which has no
connection to reset. The faults are therefore made at the boundaries
where a real MariaDB or placement would make them, and everything above
runs as shipped: a database's engine refuses every connection (what
SQLAlchemy's pool meets when MariaDB is down) or loses it at a statement
(oslo.db's DBConnectionError, as for MariaDB's 2013 "Lost connection"
error), and keystoneauth's HTTP adapter has a connection reset, or
placement's answer replaced by a 502/503, for the reads chosen.
"""

import re
import time

from nova import context as nova_context
from nova.db.api import api as api_db
from nova.db.main import api as main_db
from oslo_db import exception as db_exc
import requests
import sqlalchemy
from urllib3 import exceptions as urllib3_exc

from tests.functional import base

ALLOCATIONS = re.compile(r'/resource_providers/[^/]+/allocations$')
# Our bulk usage read; nova's scheduler asks with a limit.
OUR_CANDIDATES = re.compile(r'/allocation_candidates\?(?!.*limit=)')
# The most a read may take with its one retry (0.1 s pause) here.
BOUND_SECONDS = 2.0


class DatabaseFault:
    """Make every engine of one of nova's databases fail."""

    def __init__(self, test, manager):
        self.test = test
        self.engines = {manager.reader.get_engine(),
                        manager.writer.get_engine()}

    def refuse(self):
        """Every new connection is refused, as when the server is down."""
        for engine in self.engines:
            self.test.useFixture(base.fixtures.MockPatchObject(
                engine, 'connect', side_effect=db_exc.DBConnectionError(
                    'connection refused')))

    def lose(self):
        """A connection is taken, then lost at its first statement."""
        def lost(*args, **kwargs):
            raise db_exc.DBConnectionError('Lost connection to server '
                                           'during query')
        for engine in self.engines:
            sqlalchemy.event.listen(engine, 'before_cursor_execute', lost)
            self.test.addCleanup(sqlalchemy.event.remove, engine,
                                 'before_cursor_execute', lost)


class PlacementFault:
    """Fail chosen placement reads at keystoneauth's HTTP adapter.

    ``times`` reads whose URL matches are failed (None: all of them); the
    others reach placement. ``calls`` counts the matching reads made.
    """

    def __init__(self, test, pattern, status=None, times=1):
        from keystoneauth1 import session as ks_session
        self.pattern = pattern
        self.status = status
        self.left = times
        self.calls = 0
        real_send = ks_session.TCPKeepAliveAdapter.send
        fault = self

        def send(adapter, request, *args, **kwargs):
            if fault.pattern.search(request.url) and request.method == 'GET':
                fault.calls += 1
                if fault.left is None or fault.left > 0:
                    if fault.left is not None:
                        fault.left -= 1
                    return fault.fail(request)
            return real_send(adapter, request, *args, **kwargs)
        test.useFixture(base.fixtures.MockPatchObject(
            ks_session.TCPKeepAliveAdapter, 'send', send))

    def fail(self, request):
        if self.status is None:
            raise requests.exceptions.ConnectionError(
                urllib3_exc.ProtocolError(
                    'Connection aborted.',
                    ConnectionResetError(104, 'Connection reset by peer')),
                request=request)
        response = requests.Response()
        response.status_code = self.status
        response._content = b'{"errors": [{"status": %d}]}' % self.status
        response.headers['Content-Type'] = 'application/json'
        response.request = request
        response.url = request.url
        return response


class FaultsTestBase(base.LivemigApiTestBase):

    NUMBER_OF_CELLS = 2

    def setUp(self):
        super().setUp()
        self.start_hosts({'host1': ('az1', 'nfs-a'),
                          'host2': ('az1', 'nfs-a'),
                          'host3': ('az1', 'nfs-a', 'cell2')})
        self.server = self.boot(self.small, 'host1')

    def get(self, path):
        started = time.monotonic()
        status, body = self.call(self.admin_api, path)
        return status, body, time.monotonic() - started

    def assertUnavailable(self, path, *words):
        status, body, _ = self.get(path)
        self.assertEqual(503, status, (path, body))
        self.assertEqual({'serviceUnavailable'}, set(body), path)
        self.assertEqual(503, body['serviceUnavailable']['code'])
        for word in words:
            self.assertIn(word, body['serviceUnavailable']['message'], path)
        return body['serviceUnavailable']['message']


class DatabaseFaultTest(FaultsTestBase):
    """503 naming the database, never a 500; a dead cell stays listed."""

    PATHS = ('/hosts', '/hosts/host1', '/hosts/host1/servers')

    def api_database(self):
        return DatabaseFault(self, api_db.context_manager)

    def cell_database(self, name):
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(ctxt, self.cell_mappings[name]) as cc:
            return DatabaseFault(self, main_db.get_context_manager(cc))

    def test_api_database_refusing_connections_is_503_naming_it(self):
        self.api_database().refuse()
        for path in self.PATHS:
            self.assertUnavailable(path, 'The API database did not answer',
                                   'DBConnectionError')
        # A handler reading through nova's objects directly.
        self.assertUnavailable('/servers/%s/destinations' % self.server['id'],
                               'database did not answer',
                               'DBConnectionError')
        self.assertUnavailable('/hosts/host1/drain-plan',
                               'database did not answer',
                               'DBConnectionError')

    def test_api_database_lost_mid_request_is_503_naming_it(self):
        self.api_database().lose()
        for path in self.PATHS:
            self.assertUnavailable(path, 'The API database did not answer')

    def test_cell_database_refusing_connections(self):
        self.cell_database('cell1').refuse()
        status, body, _ = self.get('/hosts')
        self.assertEqual(200, status, body)
        self.assertEqual(['host3'], [h['host'] for h in body['hosts']])
        self.assertEqual(['cell1'], body['unreachable_cells'])
        for path in ('/hosts/host1', '/hosts/host1/servers'):
            self.assertUnavailable(
                path, 'The database of cell cell1 did not answer',
                'DBConnectionError')
        self.assertUnavailable('/servers/%s/destinations' % self.server['id'],
                               'database', 'did not answer')
        self.assertUnavailable('/hosts/host1/drain-plan', 'database',
                               'did not answer')
        status, body, _ = self.get('/hosts/host3')
        self.assertEqual(200, status, body)

    def test_cell_database_lost_mid_request(self):
        self.cell_database('cell2').lose()
        status, body, _ = self.get('/hosts')
        self.assertEqual(200, status, body)
        self.assertEqual(['cell2'], body['unreachable_cells'])
        for path in ('/hosts/host3', '/hosts/host3/servers'):
            self.assertUnavailable(
                path, 'The database of cell cell2 did not answer')

    def test_an_unnamed_database_error_is_503(self):
        # A read outside the usage layer's transactions (a handler of
        # its own, say) that meets a database failure.
        from nova_livemig_ext.api import hosts as hosts_api
        self.useFixture(base.fixtures.MockPatchObject(
            hosts_api.host_usage, 'list_hosts', side_effect=(
                sqlalchemy.exc.OperationalError(
                    'SELECT 1', {}, Exception('server has gone away')))))
        message = self.assertUnavailable('/hosts', 'A nova database did '
                                         'not answer (OperationalError)')
        self.assertNotIn('SELECT', message)


class PlacementRetryTest(FaultsTestBase):
    """One retry for a transient error; then 503, within a bound."""

    def test_connection_reset_once_is_retried(self):
        fault = PlacementFault(self, ALLOCATIONS)
        status, body, _ = self.get('/hosts/host1')
        self.assertEqual(200, status, body)
        self.assertEqual(2, fault.calls)
        self.assertEqual(1, body['host']['instances'])
        self.assertIn('retrying once', self.log_output())

    def test_connection_reset_every_time_is_503_within_bound(self):
        fault = PlacementFault(self, ALLOCATIONS, times=None)
        status, body, elapsed = self.get('/hosts/host1')
        self.assertEqual(503, status, body)
        self.assertIn('Placement cannot be reached',
                      body['serviceUnavailable']['message'])
        self.assertIn('Connection reset by peer',
                      body['serviceUnavailable']['message'])
        self.assertEqual(2, fault.calls)
        self.assertLess(elapsed, BOUND_SECONDS)

    def test_bad_gateway_once_is_retried(self):
        for status_code in (502, 503, 504):
            fault = PlacementFault(self, OUR_CANDIDATES, status=status_code)
            status, body, _ = self.get('/hosts')
            self.assertEqual(200, status, (status_code, body))
            self.assertEqual(2, fault.calls, status_code)
            self.assertEqual(['host1', 'host2', 'host3'],
                             [h['host'] for h in body['hosts']])

    def test_unavailable_every_time_is_503(self):
        fault = PlacementFault(self, OUR_CANDIDATES, status=503, times=None)
        status, body, elapsed = self.get('/hosts')
        self.assertEqual(503, status, body)
        self.assertIn('Placement answered GET /allocation_candidates with '
                      '503', body['serviceUnavailable']['message'])
        self.assertEqual(2, fault.calls)
        self.assertLess(elapsed, BOUND_SECONDS)

    def test_drain_plan_when_placement_fails_is_503(self):
        PlacementFault(self, re.compile(r'/allocation_candidates\?'),
                       status=503, times=None)
        self.assertUnavailable('/hosts/host1/drain-plan',
                               'Placement answered GET '
                               '/allocation_candidates with 503')

    def test_other_errors_are_not_retried(self):
        fault = PlacementFault(self, ALLOCATIONS, status=500, times=None)
        self.assertUnavailable('/hosts/host1', 'with 500')
        self.assertEqual(1, fault.calls)

    def test_placement_options_set_leave_retries_to_keystoneauth(self):
        # An operator's connect_retries (0 here: no retry) is applied by
        # keystoneauth's adapter; the read is not retried a second time.
        self.flags(connect_retries=0, status_code_retries=0,
                   group='placement')
        fault = PlacementFault(self, ALLOCATIONS, times=None)
        self.assertUnavailable('/hosts/host1', 'Placement cannot be reached')
        self.assertEqual(1, fault.calls)
        fault = PlacementFault(self, OUR_CANDIDATES, status=503)
        self.assertUnavailable('/hosts', 'with 503')
        self.assertEqual(1, fault.calls)


class FilterRetryTest(base.LiveMigrationTestBase):
    """The filter's usage read is retried as the API's are."""

    def setUp(self):
        super().setUp()
        self.start_hosts({'host1': ('az1', 'nfs-a'),
                          'host2': ('az1', 'nfs-a'),
                          'host3': ('az2', 'nfs-a')})
        self.server = self.boot(self.small, 'host1')

    def test_reset_once_does_not_refuse_a_live_migration(self):
        fault = PlacementFault(self, OUR_CANDIDATES)
        server = self.live_migrate(self.server)
        self.assertEqual('host2', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(2, fault.calls)

    def test_reset_every_time_refuses_it(self):
        fault = PlacementFault(self, OUR_CANDIDATES, times=None)
        self.live_migrate_fails(self.server)
        self.assertEqual(2, fault.calls)
        self.assertIn('Placement cannot be reached', self.log_output())
