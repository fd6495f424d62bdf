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

"""The filter's usage read: only the source zone's and domain's hosts.

nova mirrors host aggregates into placement (the aggregate's uuid on each
member's provider); the filter asks placement with ``member_of`` for the
hosts its zone and domain rules leave. A host whose mirror is missing is
read again without the restriction.
"""

from nova.scheduler.client import report

from tests.functional import base
from tests.functional import test_live_migration

# Four computes in two zones and two migration domains.
LAYOUT = test_live_migration.LAYOUT


class UsageReadTest(base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.start_hosts(LAYOUT)
        self.server = self.boot(self.medium, 'host1')
        self.urls = []
        real_get = report.SchedulerReportClient.get

        def get(client, url, *args, **kwargs):
            self.urls.append(url)
            return real_get(client, url, *args, **kwargs)
        self.useFixture(base.fixtures.MonkeyPatch(
            'nova.scheduler.client.report.SchedulerReportClient.get', get))

    def usage_reads(self):
        return [url for url in self.urls
                if url.startswith('/allocation_candidates?resources='
                                  'MEMORY_MB:1')]

    def test_read_asks_for_the_zone_and_domain_only(self):
        self.live_migrate(self.server)
        self.assertEqual('host2', self.host_of(self.server))
        (url,) = self.usage_reads()
        # host2 is the one host the zone and domain rules leave: in_tree.
        self.assertIn('in_tree=%s' % self._get_provider_uuid_by_host(
            'host2'), url)

    def test_read_of_several_hosts_uses_member_of(self):
        self._start_compute('host5')
        self._add_to_aggregate('az-az1', 'host5')
        self._add_to_aggregate('domain-nfs-a', 'host5')
        self.live_migrate(self.server)
        (url,) = self.usage_reads()
        for name in ('az-az1', 'domain-nfs-a'):
            uuid = self.admin_api.api_get(
                '/os-aggregates/%s' % self.aggregates[name]
            ).body['aggregate']['uuid']
            self.assertIn('member_of=%s' % uuid, url)
        self.assertNotIn('in_tree', url)

    def test_missing_aggregate_mirror_is_read_again(self):
        self._start_compute('host5')
        self._add_to_aggregate('az-az1', 'host5')
        self._add_to_aggregate('domain-nfs-a', 'host5')
        # host2 holds a server: host5 has the most room. Drop host5's
        # aggregates from placement, as if nova's mirror had failed.
        self.boot(self.medium, 'host2')
        rp_uuid = self._get_provider_uuid_by_host('host5')
        generation = self.placement.get(
            '/resource_providers/%s' % rp_uuid).body['generation']
        self.placement.put(
            '/resource_providers/%s/aggregates' % rp_uuid,
            {'aggregates': [], 'resource_provider_generation': generation},
            version='1.19')
        self.live_migrate(self.server)
        self.assertEqual('host5', self.host_of(self.server))
        restricted, again = self.usage_reads()
        self.assertIn('member_of', restricted)
        self.assertIn('in_tree=%s' % rp_uuid, again)
        self.assertIn('nova-manage placement sync_aggregates',
                      self.log_output())
