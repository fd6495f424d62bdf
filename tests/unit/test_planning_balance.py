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

"""The balance planner on tables of hosts."""

import dataclasses
import random

from nova_livemig_ext.planning import balance
from nova_livemig_ext.planning import scope
from tests.unit import base
from tests.unit import test_planning_consolidation as consolidation_test

RAM = 'MEMORY_MB'
CPU = 'VCPU'
cluster = consolidation_test.cluster


def spreads(plan, hosts, servers):
    """The spread (max - mean of used / capacity) after each move."""
    used = {h.name: dict(h.used) for h in hosts}
    capacity = {h.name: h.capacity for h in hosts}
    by_id = {s.id: s for s in servers}

    def spread():
        util = [max(used[n][rc] / capacity[n][rc] for rc in capacity[n])
                for n in used]
        return max(util) - sum(util) / len(util)

    values = [spread()]
    for move in plan.moves:
        for rc, amount in by_id[move.server_id].demand.items():
            used[move.source][rc] -= amount
            used[move.destination][rc] += amount
        values.append(spread())
    return values


class AllocationBalanceTest(base.TestCase):

    def test_busiest_host_is_relieved_towards_the_mean(self):
        hosts, servers = cluster({'h1': [('a', 4), ('b', 2), ('c', 2)],
                                  'h2': [('d', 2)], 'h3': [('e', 3)]})
        plan = balance.plan_balance(hosts, servers, max_moves=5)
        self.assertEqual('allocation', plan.measure)
        # The smaller of the servers that leave the same spread moves.
        self.assertEqual([('b', 'h1', 'h2'), ('c', 'h1', 'h3')], [
            (m.server_id, m.source, m.destination) for m in plan.moves])
        self.assertIn('relieves h1, the busiest host (0.800 -> 0.600',
                      plan.moves[0].why)
        self.assertAlmostEqual(0.8 - 1.3 / 3, plan.spread_before)
        self.assertAlmostEqual(0.5 - 1.3 / 3, plan.spread_after)
        self.assertEqual('h1', plan.hosts[0]['host'])
        self.assertAlmostEqual(0.8, plan.hosts[0]['utilization_before'])
        self.assertAlmostEqual(0.4, plan.hosts[0]['utilization_after'])
        self.assertEqual([], consolidation_test.replay(plan, hosts,
                                                       servers))

    def test_every_move_lowers_the_spread_or_unties_the_top(self):
        # Two hosts share the top: the first move lowers only how many
        # are there, the second lowers the spread.
        hosts, servers = cluster({'h1': [('a', 4), ('b', 4)],
                                  'h2': [('c', 4), ('d', 4)],
                                  'h3': [], 'h4': []})
        plan = balance.plan_balance(hosts, servers, max_moves=10)
        values = spreads(plan, hosts, servers)
        self.assertEqual(2, len(plan.moves))
        self.assertEqual(values[0], values[1])
        self.assertLess(values[2], values[1])
        self.assertIn('one host fewer', plan.moves[0].why)
        self.assertIn('lowers the spread', plan.moves[1].why)

    def test_a_plan_never_ends_on_a_move_that_only_unties(self):
        hosts, servers = cluster({'h1': [('a', 4), ('b', 4)],
                                  'h2': [('c', 4), ('d', 4)],
                                  'h3': [], 'h4': []})
        plan = balance.plan_balance(hosts, servers, max_moves=1)
        self.assertEqual([], plan.moves)
        self.assertEqual(plan.spread_before, plan.spread_after)

    def test_max_moves_and_candidates_and_caps_hold(self):
        rng = random.Random(3)
        for _ in range(40):
            hosts, servers = consolidation_test.random_case(rng)
            limit = rng.randint(1, 6)
            plan = balance.plan_balance(hosts, servers, max_moves=limit)
            self.assertLessEqual(len(plan.moves), limit)
            self.assertEqual([], consolidation_test.replay(
                plan, hosts, servers))
            values = spreads(plan, hosts, servers)
            self.assertTrue(all(b <= a + 1e-9 for a, b in
                                zip(values, values[1:], strict=False)), values)
            if plan.moves:
                self.assertLess(values[-1], values[-2] + 1e-12)
                self.assertLess(plan.spread_after, plan.spread_before)

    def test_anti_affinity_and_affinity_hold(self):
        kw = {'a': {'anti_affinity': 'g'}, 'd': {'anti_affinity': 'g'},
              'b': {'affinity': 'f'}}
        hosts, servers = cluster({'h1': [('a', 4), ('b', 4)],
                                  'h2': [('d', 1)], 'h3': [('e', 2)]},
                                 **kw)
        plan = balance.plan_balance(hosts, servers, max_moves=5)
        # a may not join d on h2; b stays with its affinity group.
        self.assertEqual([('a', 'h1', 'h3'), ('e', 'h3', 'h2')], [
            (m.server_id, m.source, m.destination) for m in plan.moves])

    def test_a_balanced_scope_plans_nothing(self):
        hosts, servers = cluster({'h1': [('a', 4)], 'h2': [('b', 4)]})
        plan = balance.plan_balance(hosts, servers, max_moves=5)
        self.assertEqual([], plan.moves)
        self.assertEqual(0.0, plan.spread_before)

    def test_deterministic_whatever_the_input_order(self):
        hosts, servers = consolidation_test.random_case(random.Random(5))
        plans = set()
        for seed in range(4):
            h, s = list(hosts), list(servers)
            random.Random(seed).shuffle(h)
            random.Random(seed).shuffle(s)
            plan = balance.plan_balance(h, s, max_moves=8)
            plans.add(tuple((m.server_id, m.destination)
                            for m in plan.moves))
        self.assertEqual(1, len(plans))

    def test_fits_says_what_refusal_says(self):
        rng = random.Random(11)
        for _ in range(20):
            hosts, servers = consolidation_test.random_case(rng)
            for host in hosts:
                load = scope.ScopeLoad(host, [s for s in servers
                                              if s.host == host.name])
                for server in servers:
                    self.assertEqual(
                        load.refusal(server, server.demand) is None,
                        load.fits(server, server.demand))


class MeasuredCpuBalanceTest(base.TestCase):

    def hosts(self, percents, cores=4):
        return [scope.MeasuredHost(
            name, capacity={RAM: 100, CPU: 64}, used={RAM: 0, CPU: 0},
            caps={RAM: 1.0, CPU: 1.0}, cores=cores, cpu_percent=percent,
            measured_at=stamp)
            for name, percent, stamp in percents]

    def placed(self, hosts, layout):
        everywhere = {h.name: None for h in hosts}
        servers = []
        used = {h.name: {RAM: 0, CPU: 0} for h in hosts}
        for name, vcpus in layout:
            servers.append(scope.PlacedServer(
                '%s-%d' % (name, len(servers)), {RAM: 1, CPU: vcpus},
                everywhere, host=name))
            used[name][RAM] += 1
            used[name][CPU] += vcpus
        hosts = [dataclasses.replace(h, used=used[h.name]) for h in hosts]
        return hosts, servers

    def test_measured_cpu_moves_the_busy_share_and_says_how_fresh(self):
        hosts, servers = self.placed(
            self.hosts([('h1', 90.0, 1000.0), ('h2', 10.0, 1030.0),
                        ('h3', None, None)]),
            [('h1', 2), ('h1', 2), ('h2', 2)])
        plan = balance.plan_balance(hosts, servers, max_moves=4,
                                    measure='cpu', now=1060.0)
        self.assertEqual('cpu', plan.measure)
        self.assertEqual(['h3'], plan.unmeasured)
        self.assertEqual({'source': 'compute monitors (cpu.percent)',
                          'oldest': 1000.0, 'newest': 1030.0,
                          'oldest_age_seconds': 60.0,
                          'newest_age_seconds': 30.0}, plan.freshness)
        self.assertEqual(1, len(plan.moves))
        self.assertEqual(('h1', 'h2'), (plan.moves[0].source,
                                        plan.moves[0].destination))
        # h1 was 3.6 busy cores of 4 in 2 servers: 1.8 each.
        after = {h['host']: h['utilization_after'] for h in plan.hosts}
        self.assertAlmostEqual(0.45, after['h1'])
        self.assertAlmostEqual(0.55, after['h2'])

    def test_no_host_is_planned_above_the_cpu_limit(self):
        hosts, servers = self.placed(
            self.hosts([('h1', 100.0, 1.0), ('h2', 70.0, 1.0)]),
            [('h1', 2), ('h1', 2), ('h2', 2)])
        plan = balance.plan_balance(hosts, servers, max_moves=4,
                                    measure='cpu', cpu_limit=0.8)
        # 2 busy cores more would take h2 to 2.8 + 2 > 3.2.
        self.assertEqual([], plan.moves)

    def test_unknown_measure_is_refused(self):
        self.assertRaises(ValueError, balance.plan_balance, [], [], 1,
                          measure='ram')
