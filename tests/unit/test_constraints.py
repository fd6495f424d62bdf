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

"""Tables of cases for the built-in constraints and the engine."""

from nova_livemig_ext import constraints
from nova_livemig_ext.constraints import availability_zone
from nova_livemig_ext.constraints import base
from nova_livemig_ext.constraints import migration_domain
from nova_livemig_ext.constraints import vacant_resources
from tests.unit import base as test_base

R = base.Resource


def move(demand=None, az='az1', domains=('nfs-a',), local_disk=True):
    return base.Move(
        server_id='server', kind='live-migration',
        source=base.HostView(name='src', availability_zone=az,
                             domains=frozenset(domains)),
        demand=demand or {'VCPU': 2, 'MEMORY_MB': 2048, 'DISK_GB': 10},
        local_disk=local_disk)


def host(name='dst', az='az1', domains=('nfs-a',), resources=None,
         caps=None):
    return base.HostView(name=name, availability_zone=az,
                         domains=frozenset(domains), resources=resources,
                         max_utilization=caps or {})


def usage(vcpu=(40, 0), memory=(8192, 0), disk=(100, 0)):
    return {'VCPU': R(*vcpu), 'MEMORY_MB': R(*memory), 'DISK_GB': R(*disk)}


class VacantResourcesTest(test_base.TestCase):

    def check(self, move_, host_, **settings):
        return vacant_resources.VacantResources(
            base.Settings(**settings)).check(move_, host_)

    def test_table(self):
        # (usage, caps override, demand, expected reason or None)
        cases = [
            (usage(), {}, None, None),
            # MEMORY_MB: 0.9 x 8192 = 7372.8; used 5836.8 leaves 1536.
            (usage(memory=(8192, 5836.8)), {}, None,
             'MEMORY_MB: requested 2048, allowed after the move 1536 of '
             'capacity 8192 at 0.9 (used 5836.8)'),
            # Exactly at the cap passes: 5324.8 + 2048 = 7372.8.
            (usage(memory=(8192, 5324.8)), {}, None, None),
            (usage(vcpu=(40, 35)), {}, None,
             'VCPU: requested 2, allowed after the move 1 of capacity 40 '
             'at 0.9 (used 35)'),
            (usage(disk=(100, 85)), {}, None,
             'DISK_GB: requested 10, allowed after the move 5 of capacity '
             '100 at 0.9 (used 85)'),
            # An aggregate override replaces the option.
            (usage(memory=(8192, 0)), {'MEMORY_MB': 0.2}, None,
             'MEMORY_MB: requested 2048, allowed after the move 1638.4 of '
             'capacity 8192 at 0.2 (used 0)'),
            # Over the cap already: allowed is reported as 0.
            (usage(memory=(8192, 8000)), {}, None,
             'MEMORY_MB: requested 2048, allowed after the move 0 of '
             'capacity 8192 at 0.9 (used 8000)'),
            # No local disk asked: DISK_GB is not judged.
            (usage(disk=(100, 100)), {}, {'VCPU': 1, 'MEMORY_MB': 512},
             None),
            (None, {}, None,
             "placement's usage read (allocation candidates for "
             "MEMORY_MB:1) did not list this host's compute node provider"),
            ({'VCPU': R(40, 0)}, {}, None,
             'MEMORY_MB: requested 2048, the host has no MEMORY_MB '
             'inventory'),
        ]
        for resources, caps, demand, expected in cases:
            rejection = self.check(
                move(demand=demand), host(resources=resources, caps=caps))
            if expected is None:
                self.assertIsNone(rejection, (resources, caps, demand))
            else:
                self.assertIsNotNone(rejection, (resources, caps, demand))
                self.assertEqual('vacant_resources', rejection.constraint)
                self.assertEqual('dst', rejection.host)
                self.assertEqual(expected, rejection.reason)

    def test_details_carry_the_numbers(self):
        rejection = self.check(move(), host(resources=usage(
            memory=(8192, 6000))))
        self.assertEqual({'resource_class': 'MEMORY_MB', 'requested': 2048,
                          'allowed': 0.9 * 8192 - 6000, 'capacity': 8192,
                          'max_utilization': 0.9, 'used': 6000},
                         rejection.details)

    def test_option_caps(self):
        settings = {'max_utilization': {'VCPU': 1.0, 'MEMORY_MB': 0.5,
                                        'DISK_GB': 1.0}}
        self.assertIsNone(self.check(
            move(), host(resources=usage(memory=(8192, 2048))), **settings))
        self.assertIsNotNone(self.check(
            move(), host(resources=usage(memory=(8192, 2049))), **settings))

    def test_headroom(self):
        settings = base.Settings()
        cases = [
            # the tightest class wins: memory (7372.8 - 0 - 2048) / 8192
            (usage(), (7372.8 - 2048) / 8192),
            (usage(vcpu=(40, 30)), (36 - 30 - 2) / 40),
            (usage(memory=(8192, 8000)), (7372.8 - 8000 - 2048) / 8192),
            (None, None),
            (usage(memory=(0, 0)), None),
        ]
        for resources, expected in cases:
            value = vacant_resources.headroom(
                move(), host(resources=resources), settings)
            if expected is None:
                self.assertIsNone(value)
            else:
                self.assertAlmostEqual(expected, value)


class AvailabilityZoneTest(test_base.TestCase):

    def test_table(self):
        cases = [
            ('az1', 'az1', True, None),
            ('az1', 'az2', True,
             'the host is in availability zone az2, the source host src is '
             'in az1'),
            ('nova', 'az2', True,
             'the host is in availability zone az2, the source host src is '
             'in nova'),
            ('az1', 'az2', False, None),
        ]
        for source_az, host_az, same, expected in cases:
            constraint = availability_zone.AvailabilityZone(
                base.Settings(same_availability_zone=same))
            rejection = constraint.check(move(az=source_az),
                                         host(az=host_az))
            self.assertEqual(expected, rejection and rejection.reason)


class MigrationDomainTest(test_base.TestCase):

    def test_table(self):
        # (source domains, host domains, local disk, mode, reason)
        cases = [
            (['a'], ['a'], True, 'required', None),
            (['a'], ['b'], True, 'required',
             'the host is in migration domain b, the source host src is in '
             'a'),
            (['a', 'b'], ['b', 'c'], True, 'required', None),
            ([], [], True, 'required', None),
            ([], ['a'], True, 'required',
             'the host is in migration domain a, the source host src is in '
             'none'),
            (['a'], [], True, 'required',
             'the host is in migration domain none, the source host src is '
             'in a'),
            # no local disk: not bound to a domain
            (['a'], ['b'], False, 'required', None),
            # preferred: never a rejection (the weigher ranks instead)
            (['a'], ['b'], True, 'preferred', None),
        ]
        for src, dst, local_disk, mode, expected in cases:
            constraint = migration_domain.MigrationDomain(
                base.Settings(migration_domain_mode=mode))
            rejection = constraint.check(
                move(domains=src, local_disk=local_disk),
                host(domains=dst))
            self.assertEqual(expected, rejection and rejection.reason,
                             (src, dst, local_disk, mode))

    def test_same_domain(self):
        self.assertTrue(migration_domain.same_domain(
            move(domains=['a']), host(domains=['a', 'x'])))
        self.assertFalse(migration_domain.same_domain(
            move(domains=['a']), host(domains=['x'])))
        self.assertTrue(migration_domain.same_domain(
            move(domains=['a'], local_disk=False), host(domains=['x'])))


class EngineTest(test_base.TestCase):

    def test_load_builtins_in_order(self):
        engine = constraints.load(
            ['migration_domain', 'vacant_resources'], base.Settings())
        self.assertEqual(['migration_domain', 'vacant_resources'],
                         engine.names)
        self.assertTrue(engine.needs_usage)
        self.assertFalse(constraints.load(
            ['availability_zone'], base.Settings()).needs_usage)

    def test_unknown_name_is_named(self):
        error = self.assertRaises(
            constraints.ConstraintLoadError, constraints.load,
            ['vacant_resources', 'bogus'], base.Settings())
        self.assertIn('unknown constraint bogus', str(error))
        self.assertIn('availability_zone, migration_domain, '
                      'vacant_resources', str(error))

    def test_duplicate_is_refused(self):
        error = self.assertRaises(
            constraints.ConstraintLoadError, constraints.load,
            ['vacant_resources', 'vacant_resources'], base.Settings())
        self.assertIn('lists vacant_resources more than once', str(error))

    def test_check_collects_every_rejection(self):
        engine = constraints.load(constraints_names(), base.Settings())
        rejections = engine.check(
            move(), host(az='az2', domains=['b'],
                         resources=usage(memory=(8192, 8000))))
        self.assertEqual(
            ['vacant_resources', 'availability_zone', 'migration_domain'],
            [r.constraint for r in rejections])
        self.assertEqual([], engine.check(move(), host(resources=usage())))

    def test_summary(self):
        summary = constraints.Summary()
        summary.add([])
        summary.add([base.Rejection('availability_zone', 'h2', 'far')])
        summary.add([base.Rejection('availability_zone', 'h3', 'farther'),
                     base.Rejection('migration_domain', 'h3', 'other')])
        summary.add_error()
        self.assertEqual(
            '3 of 4 hosts rejected; rejections by rule: availability_zone '
            'rejected 2 (e.g. h2: far); migration_domain rejected 1 (e.g. '
            'h3: other); 1 could not be judged', str(summary))

    def test_summary_without_rejections(self):
        summary = constraints.Summary()
        summary.add([])
        self.assertEqual('0 of 1 hosts rejected', str(summary))
        summary.add_error()
        self.assertEqual('1 of 2 hosts rejected; 1 could not be judged',
                         str(summary))


def constraints_names():
    return ['vacant_resources', 'availability_zone', 'migration_domain']
