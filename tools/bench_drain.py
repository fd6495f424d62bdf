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

"""Benchmark: the drain plan of a host, against one explain per server.

On nova's in-process cloud of ``tools/bench_explain.py`` (N compute hosts
in 4 zones and 8 migration domains, M instances written straight into the
databases) with S real servers (instance, request spec, mappings,
allocation; half of one flavor, half of another) on the first host:

* the drain plan of that host, as the API computes it (every server
  judged on every host, then planned);
* the obvious alternative: one destinations evaluation per server.

Each counts nova's SQL statements and placement requests. Usage::

    tox -e functional --notest
    .tox/functional/bin/python tools/bench_drain.py --hosts 1000 \\
        --servers 100
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import bench_api  # noqa: E402  (imports nova's test packages first)
import bench_explain  # noqa: E402
from tests.functional import base  # noqa: E402

from nova import context as nova_context  # noqa: E402
from nova.db.main import api as main_db  # noqa: E402
from nova.db.main import models as main_models  # noqa: E402

OPTIONS = {'hosts': 1000, 'instances': 20000, 'repeats': 3,
           'servers': 100}


class DrainBenchmark(bench_explain.ExplainBenchmark):
    """Not a test: a scenario run once by main()."""

    def test_benchmark(self):
        hosts = OPTIONS['hosts']
        self.flags(service_down_time=3600)
        started = time.perf_counter()
        names, rp_uuids = self._populate(hosts, OPTIONS['instances'])
        self._group(names, rp_uuids)
        self._only_real_servers(names[0])
        flavors = (self.small, self.medium)
        servers = []
        for i in range(OPTIONS['servers']):
            # bench_explain's server is of the medium flavor.
            self.medium = flavors[i % 2]
            servers.append(self._server(names[0], rp_uuids[0]))
        self.medium = flavors[1]
        print('Populated %d hosts, %d instances and %d servers on %s in '
              '%.0f s' % (hosts, OPTIONS['instances'], len(servers),
                          names[0], time.perf_counter() - started))
        self.quiet_services()
        self.logging_as_nova_runs()
        from nova_livemig_ext import evaluation
        from nova_livemig_ext import plans
        ctxt = nova_context.get_admin_context()

        def plan():
            return plans.drain_plan(ctxt, names[0])

        answer = plan()
        if OPTIONS.get('profile'):
            import cProfile
            import pstats
            profile = cProfile.Profile()
            profile.runcall(plan)
            pstats.Stats(profile).sort_stats('cumulative').print_stats(40)
        placed = [m for m in answer['moves'] if m['destination']]
        print('Plan: %d moves, %d placed, feasible %s, %d destinations, '
              '%d request classes'
              % (len(answer['moves']), len(placed), answer['feasible'],
                 len(answer['hosts_after']),
                 answer['evaluated_with']['request_classes']))
        samples = []
        for _ in range(OPTIONS['repeats']):
            with base.RoundTrips() as trips:
                start = time.perf_counter()
                plan()
                samples.append(time.perf_counter() - start)
        plan_row = ('drain plan (%d servers)' % len(servers),
                    statistics.median(samples), trips.sql, trips.placement)
        with base.RoundTrips() as trips:
            start = time.perf_counter()
            for server in servers:
                evaluation.explain(ctxt, server)
            explain_row = ('one explain per server (%d)' % len(servers),
                           time.perf_counter() - start, trips.sql,
                           trips.placement)
        print()
        print('%d hosts in %d zones and %d domains, %d instances, %d '
              'servers on the drained host (nova %s)'
              % (hosts, bench_explain.ZONES, bench_explain.DOMAINS,
                 OPTIONS['instances'], len(servers),
                 bench_api._nova_version()))
        print()
        print('| what | seconds | nova SQL statements | placement '
              'requests |')
        print('|---|---:|---:|---:|')
        for label, seconds, sql, http in (plan_row, explain_row):
            print('| %s | %.2f | %d | %d |' % (label, seconds, sql, http))
        print()
        print('ratio one explain per server : drain plan = %.1f (time), '
              '%.1f (SQL), %.1f (placement)'
              % (explain_row[1] / plan_row[1],
                 explain_row[2] / max(plan_row[2], 1),
                 explain_row[3] / max(plan_row[3], 1)))

    def _only_real_servers(self, host):
        """Leave the drained host only the servers nova wrote in full.

        The bulk-written instances have no request spec (nova always
        writes one); their allocations stay, as usage of the host.
        """
        ctxt = nova_context.get_admin_context()
        with nova_context.target_cell(ctxt,
                                      self.cell_mappings['cell1']) as cctxt:
            engine = main_db.get_engine(context=cctxt)
            with engine.begin() as conn:
                table = main_models.Instance.__table__
                conn.execute(table.update().where(table.c.host == host)
                             .values(deleted=table.c.id))


def main():
    parser = bench_api.parser(__doc__.split('\n')[0])
    parser.add_argument('--servers', type=int, default=100)
    parser.add_argument('--profile', action='store_true',
                        help='print a profile of one plan')
    return bench_api.run(DrainBenchmark, OPTIONS, parser.parse_args())


if __name__ == '__main__':
    sys.exit(main())
