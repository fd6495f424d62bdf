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

"""``openstack livemig balance``: lower the spread of utilization."""

from nova_livemig_ext.osc import plans


class Balance(plans.PlanCommand):
    """Lower the spread of utilization between hosts, by live migration.

    Prints the balance plan: the measure (allocations, or the CPU nova's
    compute monitors measure) and how fresh it is, the spread (largest
    utilization minus the mean) before and planned after, the hosts not
    measured and the servers it leaves; then makes its moves in the plan's
    order, naming each planned host (never forced: nova's scheduler judges
    every move), at most --max-concurrent at a time. Ends with one row
    per host, utilization by allocation read again; the exit code is 1 if
    any move failed, was interrupted or did not end.
    """

    path = '/balance-plan'
    key = 'balance_plan'
    title = 'Balancing'

    def add_plan_arguments(self, parser):
        parser.add_argument('--measure', choices=('allocation', 'cpu'),
                            help='Utilization by placement\'s allocations '
                                 '(the API\'s default) or by the CPU nova\'s '
                                 'compute monitors measure')

    def plan_params(self, parsed_args):
        return dict(super().plan_params(parsed_args),
                    measure=parsed_args.measure)

    def summary(self, plan):
        lines = [
            'Balance plan for %s' % plans.scope_text(plan.get('scope', {})),
            '  measure: %s (freshness: %s)' % (
                plan.get('measure'),
                plans.freshness_text(plan.get('freshness'))),
            '  spread: %.2f -> %.2f planned' % (plan['spread_before'],
                                                plan['spread_after']),
        ]
        if plan.get('unmeasured'):
            lines.append('  not measured: %s' % ', '.join(plan['unmeasured']))
        if plan.get('measure') == 'cpu':
            lines.append('  a run reports utilization before and after by '
                         'allocation, read from nova (measured CPU lags '
                         'behind)')
        return '\n'.join(lines + [''])

    def _words(self, plan, entry, tally, done):
        name = entry['host']
        if name in (plan.get('unmeasured') or ()):
            return 'not measured'
        moves_out = tally.moves_out.get(name, 0)
        moves_in = tally.moves_in.get(name, 0)
        if moves_out > moves_in:
            return 'relieved' if done else 'to relieve'
        if moves_in > moves_out:
            return 'took load' if done else 'to take load'
        return 'kept'

    def planned_status(self, plan, entry, tally):
        words = self._words(plan, entry, tally, False)
        return words + (', disabled' if entry.get('disabled') else '')

    def status(self, plan, entry, tally, current, parsed_args):
        words = self._words(plan, entry, tally, True)
        if current is None:
            return words + ', not read again'
        service = plans.service_text(current.get('service') or {})
        return words + (', ' + service if service != 'enabled' else '')
