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

"""The devstack plugin, run by bash with devstack's own ini helpers.

``devstack/lib/livemig_ext`` edits nova.conf and nova's api-paste.ini with
devstack's ``iniset`` family, so most tests need a devstack checkout named
by the environment variable ``DEVSTACK_DIR``; without it they skip. They
edit copies, in a temporary directory, of a nova.conf as devstack writes
it and of the api-paste.ini installed with nova, then read the results
the way nova does: oslo.config with nova's own option types, and
paste.deploy.
"""

import configparser
import os
import re
import shutil
import subprocess
import sys

import fixtures
from nova.conf import availability_zone as nova_az_conf
from nova.conf import scheduler as nova_scheduler_conf
from oslo_config import cfg
from paste.deploy import loadwsgi
import testtools

from nova_livemig_ext.api import app as livemig_app
from nova_livemig_ext.api import paste as livemig_paste
from nova_livemig_ext import conf as livemig_conf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PLUGIN = os.path.join(REPO, 'devstack')
SHELL_FILES = ('settings', 'plugin.sh', os.path.join('lib', 'livemig_ext'))
SNIPPET = os.path.join(REPO, 'etc', 'api-paste.ini')
NOVA_PASTE = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')

# What of devstack the plugin's functions use: the ini helpers, and
# is_service_enabled and trueorfalse.
DEVSTACK_HELPERS = ('functions-common', os.path.join('inc', 'ini-config'))
NEEDS_DEVSTACK = (
    "needs devstack's shell helpers: set DEVSTACK_DIR to a devstack "
    "checkout (git clone https://opendev.org/openstack/devstack)")

FILTER = 'nova_livemig_ext.scheduler.filters.LiveMigrationDestinationFilter'
WEIGHER = 'nova_livemig_ext.scheduler.weighers.VacantResourceWeigher'
ALL_FILTERS = 'nova.scheduler.filters.all_filters'
ALL_WEIGHERS = 'nova.scheduler.weights.all_weighers'

# devstack's NOVA_FILTERS (lib/nova), which create_nova_conf writes.
NOVA_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                'ServerGroupAffinityFilter,SameHostFilter,'
                'DifferentHostFilter')

# The start of a nova.conf as devstack's create_nova_conf writes it.
DEVSTACK_NOVA_CONF = """[DEFAULT]
shutdown_timeout = 180
metadata_listen = 0.0.0.0
osapi_compute_listen = 0.0.0.0
instance_name_template = instance-%%08x
my_ip = 10.0.0.5
rootwrap_config = /etc/nova/rootwrap.conf
debug = True

[wsgi]
api_paste_config = /etc/nova/api-paste.ini

[filter_scheduler]
enabled_filters = %s

[scheduler]
workers = 2

[api]
response_validation = error
""" % NOVA_FILTERS

# The functions run as in devstack's stack.sh: errexit on, the helpers,
# then the plugin's settings and library.
SCRIPT = """set -o errexit
source "$DEVSTACK_DIR/functions-common"
source "$DEVSTACK_DIR/inc/ini-config"
source "$LIVEMIG_EXT_DIR/devstack/settings"
source "$LIVEMIG_EXT_DIR/devstack/lib/livemig_ext"
for function in "$@"; do
    $function
done
"""

# plugin.sh sourced for devstack phases, as stack.sh, unstack.sh and
# clean.sh do; the two functions of stack.sh it calls are recorded.
PHASES_SCRIPT = """set -o errexit
source "$DEVSTACK_DIR/functions-common"
source "$DEVSTACK_DIR/inc/ini-config"
function echo_summary { :; }
function setup_develop { echo "setup_develop $*"; }
source "$LIVEMIG_EXT_DIR/devstack/settings"
for phase in "$@"; do
    source "$LIVEMIG_EXT_DIR/devstack/plugin.sh" $phase
done
"""


def read(path):
    with open(path) as f:
        return f.read()


def paste_sections(text):
    """Sections and values of a paste file, as paste.deploy reads them."""
    parser = configparser.RawConfigParser(
        delimiters=('=', ':'), strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return {name: dict(parser.items(name)) for name in parser.sections()}


class ShellFilesTest(testtools.TestCase):
    """What can be checked without devstack."""

    def test_shell_files_parse(self):
        for name in SHELL_FILES:
            result = subprocess.run(  # noqa: S603
                [shutil.which('bash'), '-n', os.path.join(PLUGIN, name)],
                capture_output=True, text=True, check=False)
            self.assertEqual(0, result.returncode, result.stderr)

    def test_settings_only_set_defaults(self):
        default = re.compile(r'^(LIVEMIG_EXT_\w+)=\$\{(\w+):-[^}]+\}$')
        for line in read(os.path.join(PLUGIN, 'settings')).splitlines():
            if not line or line.startswith('#'):
                continue
            found = default.match(line)
            self.assertIsNotNone(found, line)
            self.assertEqual(found.group(1), found.group(2), line)

    def test_every_option_has_a_variable(self):
        settings = read(os.path.join(PLUGIN, 'settings'))
        variables = set(re.findall(r'^LIVEMIG_EXT_(\w+)=', settings,
                                   re.MULTILINE))
        options = {opt.dest.upper() for opt in livemig_conf.livemig_opts}
        self.assertEqual(set(), options - variables)


class DevstackPluginTestCase(testtools.TestCase):
    """Runs the plugin's functions on copies of nova's files."""

    def setUp(self):
        super().setUp()
        self.devstack = os.environ.get('DEVSTACK_DIR', '')
        if not self.devstack or not all(
                os.path.isfile(os.path.join(self.devstack, helper))
                for helper in DEVSTACK_HELPERS):
            self.skipTest(NEEDS_DEVSTACK)
        if not os.path.isfile(NOVA_PASTE):
            self.skipTest("nova's api-paste.ini is not installed at %s"
                          % NOVA_PASTE)
        tmp = self.useFixture(fixtures.TempDir()).path
        self.nova_conf = os.path.join(tmp, 'nova.conf')
        self.paste_ini = os.path.join(tmp, 'api-paste.ini')
        self.write_nova_conf(DEVSTACK_NOVA_CONF)
        shutil.copyfile(NOVA_PASTE, self.paste_ini)

    def write_nova_conf(self, text):
        with open(self.nova_conf, 'w') as f:
            f.write(text)

    def run_functions(self, *functions, **variables):
        """Run lib/livemig_ext functions in bash with devstack's helpers.

        :param functions: the functions to call, in order.
        :param variables: devstack variables (LIVEMIG_EXT_* and the like)
            on top of an all-in-one node's.
        :returns: what the functions wrote on stdout.
        """
        return self.run_bash(SCRIPT, functions, variables)

    def run_phases(self, *phases, **variables):
        """Source plugin.sh for each phase ("stack install", "clean"...)."""
        return self.run_bash(PHASES_SCRIPT, phases, variables)

    def run_bash(self, script, args, variables):
        env = {
            'PATH': os.environ.get('PATH', os.defpath),
            'DEVSTACK_DIR': self.devstack,
            'LIVEMIG_EXT_DIR': REPO,
            'NOVA_CONF': self.nova_conf,
            'NOVA_API_PASTE_INI': self.paste_ini,
            'NOVA_FILTERS': NOVA_FILTERS,
            'ENABLED_SERVICES': 'key,n-api,n-cond,n-cpu,n-sch,placement-api',
        }
        env.update(variables)
        result = subprocess.run(  # noqa: S603
            [shutil.which('bash'), '-c', script, 'bash'] + list(args),
            env=env, capture_output=True, text=True, check=False)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    def configure(self, **variables):
        self.run_functions('configure_livemig_ext', **variables)

    def nova_options(self):
        """nova.conf as nova-scheduler reads it."""
        conf = cfg.ConfigOpts()
        nova_scheduler_conf.register_opts(conf)
        nova_az_conf.register_opts(conf)
        livemig_conf.register_opts(conf)
        conf(['--config-file', self.nova_conf], project='nova',
             default_config_files=[], default_config_dirs=[], use_env=False)
        return conf

    def files(self):
        return read(self.nova_conf), read(self.paste_ini)


class SchedulerTest(DevstackPluginTestCase):

    def test_filter_and_weigher_join_novas(self):
        self.configure()
        scheduler = self.nova_options().filter_scheduler
        self.assertEqual([ALL_FILTERS, FILTER], scheduler.available_filters)
        self.assertEqual(
            NOVA_FILTERS.split(',') + ['LiveMigrationDestinationFilter'],
            scheduler.enabled_filters)
        self.assertEqual([ALL_WEIGHERS, WEIGHER], scheduler.weight_classes)

    def test_operator_choices_are_kept(self):
        self.write_nova_conf(
            '[filter_scheduler]\n'
            'available_filters = site.filters.RackFilter\n'
            'enabled_filters = ComputeFilter, LiveMigrationDestinationFilter\n'
            'weight_classes = site.weights.RackWeigher\n')
        self.configure()
        scheduler = self.nova_options().filter_scheduler
        self.assertEqual(['site.filters.RackFilter', FILTER],
                         scheduler.available_filters)
        self.assertEqual(['ComputeFilter', 'LiveMigrationDestinationFilter'],
                         scheduler.enabled_filters)
        self.assertEqual(['site.weights.RackWeigher', WEIGHER],
                         scheduler.weight_classes)

    def test_configuring_twice_changes_nothing(self):
        self.configure()
        once = self.files()
        self.configure()
        self.assertEqual(once, self.files())

    def test_cleanup_restores_the_files(self):
        before = self.files()
        self.run_functions('configure_livemig_ext', 'cleanup_livemig_ext')
        self.assertEqual(before, self.files())
        self.run_functions('cleanup_livemig_ext')
        self.assertEqual(before, self.files())

    def test_cleanup_keeps_operator_choices(self):
        self.write_nova_conf(
            '[filter_scheduler]\n'
            'available_filters = site.filters.RackFilter\n'
            'enabled_filters = ComputeFilter,RackFilter\n'
            'weight_classes = site.weights.RackWeigher\n')
        before = self.nova_options().filter_scheduler
        self.run_functions('configure_livemig_ext', 'cleanup_livemig_ext')
        after = self.nova_options().filter_scheduler
        for name in ('available_filters', 'enabled_filters',
                     'weight_classes'):
            self.assertEqual(before[name], after[name], name)


class OptionsTest(DevstackPluginTestCase):

    def test_defaults_are_the_products(self):
        self.configure()
        group = self.nova_options().livemig_ext
        # nova.conf's [DEFAULT] is a section like any other here.
        parser = configparser.RawConfigParser(
            strict=False, default_section='')
        parser.read(self.nova_conf)
        self.assertEqual({opt.dest for opt in livemig_conf.livemig_opts},
                         set(parser.options('livemig_ext')))
        for opt in livemig_conf.livemig_opts:
            self.assertEqual(opt.default, group[opt.dest], opt.dest)

    def test_variables_set_the_options(self):
        self.configure(
            LIVEMIG_EXT_CONSTRAINTS='vacant_resources,availability_zone',
            LIVEMIG_EXT_VCPU_MAX_UTILIZATION='0.5',
            LIVEMIG_EXT_RAM_MAX_UTILIZATION='0.75',
            LIVEMIG_EXT_DISK_MAX_UTILIZATION='1',
            LIVEMIG_EXT_SAME_AVAILABILITY_ZONE='False',
            LIVEMIG_EXT_MIGRATION_DOMAIN_KEY='storage',
            LIVEMIG_EXT_MIGRATION_DOMAIN_MODE='preferred',
            LIVEMIG_EXT_APPLY_TO='live-migration,evacuation',
            LIVEMIG_EXT_WEIGHER_STRATEGY='pack',
            LIVEMIG_EXT_WEIGHER_MULTIPLIER='2.5',
            LIVEMIG_EXT_INVENTORY_CACHE_SECONDS='0',
            LIVEMIG_EXT_INVENTORY_CACHE_PRIME='False')
        conf = self.nova_options()
        group = conf.livemig_ext
        self.assertEqual(['vacant_resources', 'availability_zone'],
                         group.constraints)
        self.assertEqual((0.5, 0.75, 1.0), (
            group.vcpu_max_utilization, group.ram_max_utilization,
            group.disk_max_utilization))
        self.assertFalse(group.same_availability_zone)
        self.assertEqual('storage', group.migration_domain_key)
        self.assertEqual('preferred', group.migration_domain_mode)
        self.assertEqual(['live-migration', 'evacuation'], group.apply_to)
        self.assertEqual('pack', group.weigher_strategy)
        self.assertEqual(2.5, group.weigher_multiplier)
        self.assertEqual(0, group.inventory_cache_seconds)
        self.assertFalse(group.inventory_cache_prime)
        # What nova-scheduler checks when it loads the filter.
        config = livemig_conf.load(conf)
        self.assertEqual(frozenset(['live-migration', 'evacuation']),
                         config.apply_to)

    def test_configuring_again_applies_new_values(self):
        self.configure()
        self.configure(LIVEMIG_EXT_WEIGHER_STRATEGY='pack')
        self.assertEqual('pack',
                         self.nova_options().livemig_ext.weigher_strategy)


class ApiTest(DevstackPluginTestCase):

    def test_mounted_as_the_shipped_snippet_says(self):
        expected = livemig_paste.mount(read(NOVA_PASTE), read(SNIPPET))
        self.configure()
        self.assertEqual(paste_sections(expected),
                         paste_sections(read(self.paste_ini)))

    def test_paste_deploy_finds_the_app_behind_novas_pipeline(self):
        self.configure()
        uri = 'config:' + self.paste_ini
        urlmap = loadwsgi.appconfig(uri, name='osapi_compute')
        self.assertEqual('livemig_v21', urlmap['/v2.1/os-livemig'])
        pipeline = loadwsgi.appconfig(uri, name='livemig_v21')[
            'keystone'].split()
        self.assertEqual('livemig', pipeline[-1])
        # Every filter of the pipeline is defined in the file.
        for name in pipeline[:-1]:
            loadwsgi.loadcontext(loadwsgi.FILTER, uri, name=name)
        app = loadwsgi.loadcontext(loadwsgi.APP, uri, name='livemig')
        self.assertIs(livemig_app.app_factory, app.object)

    def test_not_mounted_when_disabled(self):
        stock = read(self.paste_ini)
        self.configure(LIVEMIG_EXT_ENABLE_API='False')
        self.assertEqual(stock, read(self.paste_ini))

    def test_disabling_unmounts(self):
        stock = read(self.paste_ini)
        self.configure()
        self.assertNotEqual(stock, read(self.paste_ini))
        self.configure(LIVEMIG_EXT_ENABLE_API='False')
        self.assertEqual(stock, read(self.paste_ini))

    def test_not_mounted_on_a_compute_node(self):
        stock = read(self.paste_ini)
        self.configure(ENABLED_SERVICES='n-cpu,placement-client')
        self.assertEqual(stock, read(self.paste_ini))
        self.assertEqual(
            [ALL_FILTERS, FILTER],
            self.nova_options().filter_scheduler.available_filters)


class PhasesTest(DevstackPluginTestCase):

    def test_install_installs_the_checkout_in_develop_mode(self):
        before = self.files()
        output = self.run_phases('stack pre-install', 'stack install')
        self.assertEqual('setup_develop %s\n' % REPO, output)
        self.assertEqual(before, self.files())

    def test_post_config_configures_before_nova_starts(self):
        self.run_phases('stack post-config')
        self.assertIn(FILTER, self.nova_options().filter_scheduler
                      .available_filters)
        self.assertIn('[app:livemig]', read(self.paste_ini))

    def test_other_phases_change_nothing(self):
        before = self.files()
        self.run_phases('stack pre-install', 'stack extra',
                        'stack test-config', 'unstack')
        self.assertEqual(before, self.files())

    def test_clean_removes_what_post_config_added(self):
        before = self.files()
        self.run_phases('stack post-config', 'unstack', 'clean')
        self.assertEqual(before, self.files())

    def test_nothing_without_nova(self):
        before = self.files()
        output = self.run_phases('stack install', 'stack post-config',
                                 ENABLED_SERVICES='key,g-api')
        self.assertEqual('', output)
        self.assertEqual(before, self.files())
