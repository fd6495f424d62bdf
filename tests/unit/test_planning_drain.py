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

"""The drain planner on tables of hosts, and against exhaustive search."""

import itertools
import random

from nova_livemig_ext.planning import drain
from tests.unit import base

RAM = 'MEMORY_MB'
CPU = 'VCPU'


def host(name, ram=8192, used=0, cap=0.9, cpu=40, cpu_used=0, groups=()):
    return drain.Host(name, capacity={RAM: ram, CPU: cpu},
                      used={RAM: used, CPU: cpu_used},
                      caps={RAM: cap, CPU: cap}, groups=frozenset(groups))


def server(sid, ram, hosts, cpu=1, **kw):
    return drain.Server(sid, demand={RAM: ram, CPU: cpu},
                        candidates={h: None for h in hosts}, name=sid, **kw)


def replay(plan, hosts, servers):
    """Apply the moves in order; fail if a cap is passed at any point."""
    used = {h.name: dict(h.used) for h in hosts}
    by_id = {s.id: s for s in servers}
    for move in plan.moves:
        if move.destination is None:
            continue
        h = next(h for h in hosts if h.name == move.destination)
        s = by_id[move.server_id]
        demand = s.candidates[move.destination] or s.demand
        for rc, amount in demand.items():
            used[h.name][rc] += amount
            if used[h.name][rc] > h.caps[rc] * h.capacity[rc] + 1e-9:
                return 'move of %s passes the %s cap of %s' % (
                    s.id, rc, h.name)
    return None


class DrainPlannerTest(base.TestCase):

    def test_every_server_placed_within_caps(self):
        hosts = [host('h2', used=4096), host('h3'), host('h4', used=6000)]
        names = [h.name for h in hosts]
        servers = [server('a', 2048, names), server('b', 1024, names),
                   server('c', 3072, names), server('d', 512, names)]
        plan = drain.plan_drain('h1', servers, hosts)
        self.assertTrue(plan.feasible)
        # Largest first; spread sends each to the most headroom (d: h2 and
        # h3 tie on memory, the tighter class; the name decides).
        self.assertEqual([('c', 'h3'), ('a', 'h3'), ('b', 'h2'),
                          ('d', 'h2')],
                         [(m.server_id, m.destination) for m in plan.moves])
        self.assertIsNone(replay(plan, hosts, servers))
        after = plan.hosts_after['h3'][RAM]
        self.assertEqual((8192, 5120), (after['capacity'], after['used']))
        self.assertAlmostEqual(0.9 * 8192, after['allowed'])

    def test_pack_fills_the_fullest_host_that_fits(self):
        hosts = [host('h2', used=4096), host('h3')]
        plan = drain.plan_drain('h1', [server('a', 2048, ['h2', 'h3'])],
                                hosts, strategy=drain.PACK)
        self.assertEqual('h2', plan.moves[0].destination)

    def test_unplaceable_server_says_why_with_numbers(self):
        hosts = [host('h2', used=6000), host('h3', used=6500)]
        servers = [server('big', 4096, ['h2', 'h3']),
                   server('small', 512, ['h2'],
                          refused={'h3': 'availability_zone: az2'})]
        plan = drain.plan_drain('h1', servers, hosts)
        self.assertFalse(plan.feasible)
        big = plan.moves[0]
        self.assertIsNone(big.destination)
        self.assertEqual(
            ['h2: MEMORY_MB: requested 4096, allowed 1372.8 of capacity '
             '8192 at 0.9 (used 6000 with the moves planned before)',
             'h3: MEMORY_MB: requested 4096, allowed 872.8 of capacity '
             '8192 at 0.9 (used 6500 with the moves planned before)'],
            big.reasons)
        self.assertEqual('h2', plan.moves[1].destination)

    def test_refusals_name_the_rule_per_host(self):
        hosts = [host('h2', used=6500),
                 host('h3', ram=8192, used=7700, cap=1.0),
                 host('h4', groups=['g'])]
        s = server('x', 1024, ['h2', 'h3', 'h4'], anti_affinity='g')
        (move,) = drain.plan_drain('h1', [s], hosts).moves
        self.assertIsNone(move.destination)
        self.assertEqual(
            {'h2': drain.VACANT_RESOURCES, 'h3': drain.PLACEMENT,
             'h4': drain.ANTI_AFFINITY},
            {h: r.rule for h, r in move.refusals.items()})
        self.assertEqual({'resource_class': RAM, 'requested': 1024,
                          'allowed': 492.0, 'capacity': 8192,
                          'max_utilization': 1.0, 'used': 7700},
                         move.refusals['h3'].details)
        # The sentences are those of refusal(), unchanged.
        self.assertEqual(['%s: %s' % (h, move.refusals[h].message)
                          for h in ('h2', 'h3', 'h4')], move.reasons)

    def test_server_no_rule_accepts_anywhere_carries_the_rules(self):
        s = drain.Server('x', {RAM: 1}, {}, refused={
            'h2': 'migration_domain: nfs-b', 'h3': 'placement: disabled'})
        (move,) = drain.plan_drain('h1', [s], [host('h2'), host('h3')]).moves
        self.assertEqual(['h2: migration_domain: nfs-b',
                          'h3: placement: disabled'], move.reasons)

    def test_anti_affinity_members_never_share_a_host(self):
        hosts = [host('h2'), host('h3', used=1000), host('h4',
                                                         groups=['g'])]
        names = [h.name for h in hosts]
        servers = [server('m1', 1024, names, anti_affinity='g'),
                   server('m2', 1024, names, anti_affinity='g'),
                   server('m3', 1024, names, anti_affinity='g')]
        plan = drain.plan_drain('h1', servers, hosts)
        self.assertEqual(['h2', 'h3', None],
                         [m.destination for m in plan.moves])
        self.assertIn('a member of anti-affinity group g is or will be '
                      'there', plan.moves[2].reasons[0])

    def test_affinity_members_are_reported_not_planned(self):
        (move,) = drain.plan_drain(
            'h1', [server('m', 512, ['h2'], affinity='g')],
            [host('h2')]).moves
        self.assertIsNone(move.destination)
        self.assertIn('affinity group g', move.reasons[0])

    def test_demand_on_each_host_is_what_nova_claims_there(self):
        pinned = drain.Host('pcpu-host', {'PCPU': 8, RAM: 8192},
                            {'PCPU': 6, RAM: 0}, {'PCPU': 1.0, RAM: 0.9})
        s = drain.Server('p', {'PCPU': 4, RAM: 512}, {
            'vcpu-host': {CPU: 4, RAM: 512}, 'pcpu-host': None})
        plan = drain.plan_drain('h1', [s], [pinned, host('vcpu-host')])
        # 6 + 4 PCPU > 8: the VCPU host, where nova falls back to VCPU.
        self.assertEqual('vcpu-host', plan.moves[0].destination)
        self.assertEqual(4, plan.hosts_after['vcpu-host'][CPU]['used'])

    def test_deterministic_whatever_the_input_order(self):
        hosts = [host('h%d' % i, used=512 * i) for i in range(2, 6)]
        names = [h.name for h in hosts]
        servers = [server('s%d' % i, 256 * (i % 4 + 1), names)
                   for i in range(12)]
        plans = set()
        for seed in range(5):
            shuffled = list(servers)
            random.Random(seed).shuffle(shuffled)
            plan = drain.plan_drain('h1', shuffled, list(reversed(hosts)))
            plans.add(tuple((m.server_id, m.destination)
                            for m in plan.moves))
        self.assertEqual(1, len(plans))


class ExhaustiveComparisonTest(base.TestCase):
    """Greedy against every assignment, on small random cases."""

    def cases(self, count):
        rng = random.Random(20261201)
        for _ in range(count):
            hosts = [host('h%d' % i, ram=rng.choice((4096, 8192)),
                          used=rng.choice((0, 1024, 2048, 3072)), cap=0.9)
                     for i in range(rng.randint(2, 3))]
            names = [h.name for h in hosts]
            servers = [server('s%d' % i, rng.choice((512, 1024, 2048, 3072)),
                              names) for i in range(rng.randint(2, 6))]
            yield hosts, servers

    def exists(self, hosts, servers):
        """Whether some assignment places every server within the caps."""
        for choice in itertools.product(hosts, repeat=len(servers)):
            used = {h.name: h.used[RAM] for h in hosts}
            for h, s in zip(choice, servers, strict=True):
                used[h.name] += s.demand[RAM]
            if all(used[h.name] <= h.caps[RAM] * h.capacity[RAM]
                   for h in hosts):
                return True
        return False

    def test_never_past_a_cap_and_close_to_the_best(self):
        possible = placed = 0
        for hosts, servers in self.cases(300):
            plan = drain.plan_drain('h0', servers, hosts)
            self.assertIsNone(replay(plan, hosts, servers))
            if self.exists(hosts, servers):
                possible += 1
                placed += plan.feasible
            else:
                self.assertFalse(plan.feasible)
        self.assertGreater(possible, 100)
        # Measured: 205 of the 206 cases where a full placement exists.
        self.assertGreaterEqual(placed / possible, 0.95,
                                '%d of %d' % (placed, possible))
