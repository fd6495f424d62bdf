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

"""The one place the functional tests touch nova's private test helpers.

Nova's in-process cloud (real placement through its fixture, the fake virt
driver, the real scheduler and conductor) with the plugin enabled through
configuration exactly as an operator enables it in nova.conf.
"""

import os
import shutil
import sys
import tempfile
from unittest import mock

import fixtures
import nova.conf
from nova.tests.functional import integrated_helpers
from oslo_utils.fixture import uuidsentinel as uuids

from nova_livemig_ext.api import paste
from nova_livemig_ext import conf as livemig_conf

CONF = nova.conf.CONF
livemig_conf.register_opts(CONF)

FILTER_NAME_SHORT = 'LiveMigrationDestinationFilter'
FILTER = ('nova_livemig_ext.scheduler.filters.'
          'LiveMigrationDestinationFilter')
WEIGHER = 'nova_livemig_ext.scheduler.weighers.VacantResourceWeigher'
DOMAIN_KEY = 'livemig_domain'


def nova_api_paste_ini():
    """nova's api-paste.ini as installed by pip beside the wheel."""
    return os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')


SHIPPED_SNIPPET = os.path.join(os.path.dirname(__file__), '..', '..', 'etc',
                               'api-paste.ini')


def paste_ini_with_extension(nova_ini, snippet):
    """nova's api-paste.ini with the extension mounted as the docs say."""
    with open(nova_ini) as f, open(snippet) as g:
        return paste.mount(f.read(), g.read())


class LiveMigrationTestBase(integrated_helpers.ProviderUsageBaseTestCase):
    """A cloud with the filter and weigher enabled as an operator would.

    MediumFakeDriver hosts have 10 VCPU, 8192 MB of RAM (7680 after nova's
    default 512 MB reservation) and 1028 GB of disk.

    Subclasses set ``livemig_options`` (the ``[livemig_ext]`` options) and
    ``enable_filter`` / ``enable_weigher``; these are read when the
    scheduler starts, as in a real deployment.
    """

    compute_driver = 'fake.MediumFakeDriver'
    enable_filter = True
    enable_weigher = True
    livemig_options = {}

    def setUp(self):
        self.flags(api_paste_config=self.api_paste_ini(), group='wsgi')
        filters = ['nova.scheduler.filters.all_filters']
        enabled = list(CONF.filter_scheduler.enabled_filters)
        weighers = ['nova.scheduler.weights.all_weighers']
        if self.enable_filter:
            filters.append(FILTER)
            enabled.append('LiveMigrationDestinationFilter')
        if self.enable_weigher:
            weighers.append(WEIGHER)
        self.flags(available_filters=filters, enabled_filters=enabled,
                   weight_classes=weighers, group='filter_scheduler')
        for name, value in self.livemig_options.items():
            self.flags(group='livemig_ext', **{name: value})
        super().setUp()
        self.aggregates = {}
        self.small = self._flavor('small', memory_mb=1024, vcpu=1, disk=10)
        self.medium = self._flavor('medium', memory_mb=2048, vcpu=1,
                                   disk=10)
        self.large = self._flavor('large', memory_mb=3072, vcpu=1, disk=10)
        # Volume-backed servers of this flavor have no local disk at all.
        self.no_local_disk = self._flavor('bfv', memory_mb=1024, vcpu=1,
                                          disk=0)

    def api_paste_ini(self):
        """The paste file nova-api (OSAPIFixture) loads at start."""
        return nova_api_paste_ini()

    def _flavor(self, name, **kw):
        return self._create_flavor(name=name, ephemeral=0, swap=0, **kw)

    # Topology --------------------------------------------------------------

    def start_hosts(self, layout):
        """Start computes placed in zones and migration domains.

        :param layout: host -> (availability zone, migration domain or
            None[, cell name]).
        """
        for host in sorted(layout):
            zone, domain = layout[host][:2]
            cell = layout[host][2] if len(layout[host]) > 2 else None
            self._start_compute(host, cell_name=cell)
            self._add_to_aggregate('az-' + zone, host,
                                   availability_zone=zone)
            if domain:
                self._add_to_aggregate('domain-' + domain, host,
                                       metadata={DOMAIN_KEY: domain})

    def _add_to_aggregate(self, name, host, availability_zone=None,
                          metadata=None):
        if name not in self.aggregates:
            self.aggregates[name] = self._create_aggregate(
                name, availability_zone=availability_zone)
            if metadata:
                self.set_aggregate_metadata(name, metadata)
        self.admin_api.add_host_to_aggregate(self.aggregates[name], host)

    def set_aggregate_metadata(self, name, metadata):
        self.admin_api.post_aggregate_action(
            self.aggregates[name], {'set_metadata': {'metadata': metadata}})

    # Servers ---------------------------------------------------------------

    def boot(self, flavor, host, volume_backed=False, az=None, group=None):
        """Boot a server on ``host`` (through the scheduler, 2.74).

        :param group: a server group (as the API returns it) to boot the
            server in.
        """
        body = self._build_server(flavor_id=flavor, networks='none', az=az,
                                  host=host)
        if volume_backed:
            body.pop('imageRef')
            body['block_device_mapping_v2'] = [{
                'source_type': 'volume', 'destination_type': 'volume',
                'boot_index': 0,
                'uuid': nova_fixtures_cinder_volume(),
            }]
        request = {'server': body}
        if group is not None:
            request['os:scheduler_hints'] = {'group': group['id']}
        server = self.admin_api.post_server(request)
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        return server

    def live_migrate(self, server, host=None):
        """Live-migrate with the scheduler choosing (or checking ``host``).

        :returns: the server once the migration completed.
        """
        return self._live_migrate(server, host=host)

    def live_migrate_fails(self, server, host=None):
        """A live migration the scheduler refuses: error, server unmoved."""
        source = server['OS-EXT-SRV-ATTR:host']
        server = self._live_migrate(
            server, migration_expected_state='error',
            server_expected_state='ACTIVE', host=host)
        self.assertEqual(source, server['OS-EXT-SRV-ATTR:host'])
        return server

    def host_of(self, server):
        return self.admin_api.get_server(server['id'])[
            'OS-EXT-SRV-ATTR:host']

    def provider_usage(self, host):
        return self._get_provider_usages(
            self._get_provider_uuid_by_host(host))

    def log_output(self):
        return self.stdlog.logger.output


class LivemigApiTestBase(LiveMigrationTestBase):
    """nova-api serving the extension from a paste file as shipped."""

    def api_paste_ini(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, 'api-paste.ini')
        with open(path, 'w') as f:
            f.write(paste_ini_with_extension(nova_api_paste_ini(),
                                             SHIPPED_SNIPPET))
        return path

    def start_service(self, name, *args, **kwargs):
        service = super().start_service(name, *args, **kwargs)
        self.__dict__.setdefault('started_services', []).append(service)
        return service

    def quiet_services(self):
        """Stop the services' heartbeats and periodic tasks.

        They write to nova's databases from their own threads at any time;
        stopped, every statement counted while a request runs is one of the
        request's (it queries the cells from threads of its own).
        """
        for service in self.started_services:
            service.tg.stop_timers(wait=True)

    def project_api(self, project_id):
        """An admin API client acting in another project."""
        from nova.tests.functional.api import client
        api = client.TestOpenStackClient(
            'admin-' + project_id, self.api_fixture.base_url,
            project_id=project_id, roles=['reader', 'member', 'admin'])
        api.microversion = self.microversion
        return api

    def placement_numbers(self, host):
        """(inventories, usages) of a host's provider, from placement."""
        rp_uuid = self._get_provider_uuid_by_host(host)
        return (self._get_provider_inventory(rp_uuid),
                self._get_provider_usages(rp_uuid))

    def call(self, api, path, method='GET'):
        """(status, JSON body) of a request to /v2.1/os-livemig/<path>."""
        response = api.api_request('os-livemig' + path, method=method,
                                   check_response_status=None)
        body = response.json() if response.content else None
        return response.status_code, body


class RoundTrips:
    """While in force: nova's SQL statements, transactions, placement calls.

    Placement runs in-process with a database of its own; its statements
    are not nova's and are left out. Every thread counts: stop the
    services' timers (``quiet_services``) to count one request's only.
    """

    def __init__(self):
        self.sql = 0
        self.transactions = 0
        self.placement = 0

    def _on_statement(self, conn, *args):
        if conn.engine is not self._placement_engine:
            self.sql += 1

    def _on_begin(self, conn):
        if conn.engine is not self._placement_engine:
            self.transactions += 1

    def __enter__(self):
        from nova.scheduler.client import report
        from placement import db_api as placement_db
        import sqlalchemy
        self._placement_engine = (
            placement_db.placement_context_manager.writer.get_engine())
        real_get = report.SchedulerReportClient.get

        def counting_get(client, *args, **kwargs):
            self.placement += 1
            return real_get(client, *args, **kwargs)
        self._patch = mock.patch.object(report.SchedulerReportClient, 'get',
                                        counting_get)
        self._patch.start()
        sqlalchemy.event.listen(sqlalchemy.engine.Engine,
                                'before_cursor_execute', self._on_statement)
        sqlalchemy.event.listen(sqlalchemy.engine.Engine, 'begin',
                                self._on_begin)
        return self

    def __exit__(self, *exc_info):
        import sqlalchemy
        sqlalchemy.event.remove(sqlalchemy.engine.Engine,
                                'before_cursor_execute', self._on_statement)
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, 'begin',
                                self._on_begin)
        self._patch.stop()


def nova_fixtures_cinder_volume():
    """A volume id nova's CinderFixture serves as a bootable volume."""
    from nova.tests.fixtures import cinder
    return cinder.CinderFixture.IMAGE_BACKED_VOL


__all__ = ['LiveMigrationTestBase', 'fixtures', 'mock', 'uuids']
