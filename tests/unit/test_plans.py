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

"""The drain plan's classes of requests, move kinds and state reasons."""

from nova import objects

from nova_livemig_ext import evaluation
from nova_livemig_ext.planning import drain
from nova_livemig_ext import plans
from nova_livemig_ext.usage import servers
from tests.unit import base


def found(uuid, spec=None, **spec_kw):
    spec = spec or base.request_spec(**spec_kw)
    spec.instance_uuid = uuid
    spec.project_id = 'p1'
    spec.requested_resources = []
    spec.pci_requests = objects.InstancePCIRequests(requests=[])
    spec.instance_group = None
    instance = objects.Instance(uuid=uuid, vm_state='active',
                                task_state=None)
    return servers.Server(instance, None, spec)


class ClassKeyTest(base.TestCase):

    def test_same_request_same_class_whatever_the_server(self):
        self.assertEqual(plans._class_key(found(base.uuids.a)),
                         plans._class_key(found(base.uuids.b)))

    def test_flavor_zone_boot_source_or_project_make_another_class(self):
        key = plans._class_key(found(base.uuids.a))
        self.assertNotEqual(key, plans._class_key(
            found(base.uuids.b, memory_mb=4096)))
        self.assertNotEqual(key, plans._class_key(
            found(base.uuids.b, is_bfv=True)))
        self.assertNotEqual(key, plans._class_key(
            found(base.uuids.b, hints={'same_host': [base.uuids.c]})))
        pinned = found(base.uuids.b)
        pinned.spec.availability_zone = 'az1'
        self.assertNotEqual(key, plans._class_key(pinned))
        other = found(base.uuids.b)
        other.spec.project_id = 'p2'
        self.assertNotEqual(key, plans._class_key(other))

    def test_grouped_server_is_a_class_of_its_own(self):
        one, two = found(base.uuids.a), found(base.uuids.b)
        for server in (one, two):
            server.spec.instance_group = objects.InstanceGroup(
                uuid=base.uuids.group, policy='anti-affinity')
        self.assertNotEqual(plans._class_key(one), plans._class_key(two))


class MoveKindTest(base.TestCase):

    def test_default_follows_the_compute_service(self):
        self.assertEqual(plans.LIVE_MIGRATION,
                         plans._move_kind(None, True, 'h1'))
        self.assertEqual(plans.EVACUATION,
                         plans._move_kind(None, False, 'h1'))

    def test_impossible_kinds_are_refused(self):
        self.assertRaises(evaluation.CannotMove, plans._move_kind,
                          plans.LIVE_MIGRATION, False, 'h1')
        self.assertRaises(evaluation.CannotMove, plans._move_kind,
                          plans.EVACUATION, True, 'h1')


class StateReasonTest(base.TestCase):

    def instance(self, vm_state, task_state=None):
        return objects.Instance(uuid=base.uuids.a, vm_state=vm_state,
                                task_state=task_state)

    def test_stopped_server_may_be_cold_migrated_or_evacuated(self):
        reason = plans._state_reason(self.instance('stopped'),
                                     plans.LIVE_MIGRATION)
        self.assertEqual('api:server_state', reason.constraint)
        self.assertIn('cold-migrated', reason.message)
        self.assertIsNone(plans._state_reason(self.instance('stopped'),
                                              plans.EVACUATION))

    def test_a_task_in_progress_blocks_every_move(self):
        for kind in (plans.LIVE_MIGRATION, plans.EVACUATION):
            reason = plans._state_reason(
                self.instance('active', 'migrating'), kind)
            self.assertEqual({'vm_state': 'active',
                              'task_state': 'migrating'}, reason.details)


class ReasonsTest(base.TestCase):

    def test_rules_and_planner_refusals_per_host_sorted(self):
        server = drain.Server('s', {'MEMORY_MB': 1}, {'h3': None},
                              refused={'h2': evaluation.Reason(
                                  'migration_domain', 'other domain')})
        move = drain.Move('s', '', None, ['h3: full'], {
            'h3': drain.Refusal(drain.VACANT_RESOURCES, 'full',
                                {'used': 9})})
        self.assertEqual(
            [{'host': 'h2', 'constraint': 'migration_domain',
              'message': 'other domain', 'details': {}},
             {'host': 'h3', 'constraint': 'vacant_resources',
              'message': 'full', 'details': {'used': 9}}],
            plans._reasons(move, server))
