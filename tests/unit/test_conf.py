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

"""Options: validated when the filter or weigher is loaded."""

from oslo_config import cfg

from nova_livemig_ext import conf as livemig_conf
from nova_livemig_ext.scheduler import filters
from nova_livemig_ext.scheduler import weighers
from tests.unit import base


class ConfTest(base.TestCase):

    def write_conf(self, text):
        path = self.create_tempfiles([('nova', text)])[0]
        self.conf.conf(['--config-file', path], project='nova')

    def assertStopsServiceStart(self, text, *expected):
        self.write_conf('[livemig_ext]\n' + text)
        for plugin in (filters.LiveMigrationDestinationFilter,
                       weighers.VacantResourceWeigher):
            error = self.assertRaises(livemig_conf.InvalidOption, plugin)
            for fragment in expected:
                self.assertIn(fragment, str(error))

    def test_defaults(self):
        config = livemig_conf.load(base.CONF)
        self.assertEqual(
            ['vacant_resources', 'availability_zone', 'migration_domain'],
            config.engine.names)
        # Dedicated cores are never shared: no headroom kept by default.
        self.assertEqual({'VCPU': 0.9, 'PCPU': 1.0, 'MEMORY_MB': 0.9,
                          'DISK_GB': 0.9},
                         config.settings.max_utilization)
        self.assertEqual(frozenset(['live-migration']), config.apply_to)
        self.assertEqual('livemig_domain', config.migration_domain_key)
        self.assertEqual('spread', config.settings.weigher_strategy)
        self.assertEqual('nova', config.default_availability_zone)

    def test_bad_ratios(self):
        for option in ('vcpu_max_utilization', 'pcpu_max_utilization',
                       'ram_max_utilization', 'disk_max_utilization'):
            for value in ('0', '-0.5', '1.01', 'abc'):
                self.assertStopsServiceStart(
                    '%s = %s\n' % (option, value),
                    '[livemig_ext] %s' % option)

    def test_ratio_of_one_is_accepted(self):
        self.write_conf('[livemig_ext]\nram_max_utilization = 1\n')
        self.assertEqual(
            1.0, livemig_conf.load(base.CONF).settings.max_utilization[
                'MEMORY_MB'])

    def test_unknown_constraint(self):
        self.assertStopsServiceStart(
            'constraints = vacant_resources,bogus\n',
            '[livemig_ext] constraints', 'unknown constraint bogus')

    def test_unknown_strategy(self):
        self.assertStopsServiceStart('weigher_strategy = fill\n',
                                     '[livemig_ext] weigher_strategy',
                                     "found 'fill'")

    def test_unknown_domain_mode(self):
        self.assertStopsServiceStart('migration_domain_mode = maybe\n',
                                     '[livemig_ext] migration_domain_mode')

    def test_apply_to(self):
        self.assertStopsServiceStart('apply_to = resize\n',
                                     '[livemig_ext] apply_to')
        self.assertStopsServiceStart('apply_to =\n',
                                     '[livemig_ext] apply_to',
                                     'name at least one')

    def test_empty_domain_key(self):
        self.assertStopsServiceStart('migration_domain_key = \n',
                                     '[livemig_ext] migration_domain_key')

    def test_list_opts(self):
        (group, opts), = livemig_conf.list_opts()
        self.assertEqual('livemig_ext', group)
        names = {opt.name for opt in opts}
        self.assertEqual(
            {'constraints', 'vcpu_max_utilization', 'pcpu_max_utilization',
             'ram_max_utilization',
             'disk_max_utilization', 'same_availability_zone',
             'migration_domain_key', 'migration_domain_mode', 'apply_to',
             'weigher_strategy', 'weigher_multiplier',
             'inventory_cache_seconds', 'inventory_cache_prime',
             'placement_read_timeout', 'max_measured_cpu',
             'cpu_metrics_max_age'}, names)
        for opt in opts:
            self.assertIsInstance(opt, cfg.Opt)
            self.assertTrue(opt.help.strip(), opt.name)
