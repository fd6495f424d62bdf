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

"""``openstack livemig consolidate``: empty hosts by live migration."""

from osc_lib import exceptions

from nova_livemig_ext.osc import plans

REASON_PREFIX = 'livemig consolidate: '


def _kept_text(disabled_service):
    return 'kept' + (', ' + disabled_service if disabled_service else '')


class Consolidate(plans.PlanCommand):
    """Empty as many hosts as the rules allow, by live migration.

    Prints the consolidation plan: the hosts in use before and after,
    the lower bound no plan can beat, the hosts it empties, the RAM it
    moves and the servers it leaves (with the reasons); then makes its
    moves in the plan's order, naming each planned host (never forced:
    nova's scheduler judges every move), at most --max-concurrent at a
    time. With --disable-emptied the compute services of the hosts to
    empty are disabled first. Ends with one row per host, utilization
    read again; the exit code is 1 if any move failed, was interrupted
    or did not end, or a host to empty still has servers.
    """

    path = '/consolidation-plan'
    key = 'consolidation_plan'
    title = 'Consolidating'

    def add_plan_arguments(self, parser):
        parser.add_argument('--disable-emptied', action='store_true',
                            help='Before the first move, disable the compute '
                                 'service of every host the plan empties '
                                 '(one already disabled is left as it is)')
        parser.add_argument('--reason', metavar='<text>',
                            help='Disabled reason with --disable-emptied, '
                                 'recorded as "%s<text>" (default: power '
                                 'saving)' % REASON_PREFIX)

    def check(self, parsed_args):
        super().check(parsed_args)
        if parsed_args.reason is not None and not parsed_args.disable_emptied:
            raise exceptions.CommandError(
                '--reason is the disabled reason of --disable-emptied: give '
                'both, or neither.')

    def summary(self, plan):
        measure = plan.get('measure') or 'allocation'
        if plan.get('cpu_limit') is not None:
            measure += ' (CPU limit %d%%)' % int(plan['cpu_limit'] * 100 +
                                                 0.5)
        return '\n'.join([
            'Consolidation plan for %s' % plans.scope_text(
                plan.get('scope', {})),
            '  hosts in use: %s -> %s (lower bound %s)' % (
                plan.get('hosts_in_use_before'),
                plan.get('hosts_in_use_after'), plan.get('lower_bound')),
            '  hosts to empty: %s' % (
                ', '.join(plan.get('hosts_emptied') or ()) or 'none'),
            '  RAM moved: %.1f GiB' % ((plan.get('ram_moved_mb') or 0) /
                                       1024.0),
            '  measure: %s' % measure,
            '  freshness: %s' % plans.freshness_text(plan.get('freshness')),
            ''])

    def before_moves(self, nova, plan, parsed_args, table):
        if not parsed_args.disable_emptied:
            return
        text = REASON_PREFIX + (parsed_args.reason or 'power saving')
        for host in plan.get('hosts_emptied') or ():
            service = nova.compute_service(host)
            if service is None:
                self.log.warning('No nova-compute service runs on %s: not '
                                 'disabled.', host)
            elif service['status'] == 'disabled':
                self.log.info('The compute service of %s is already '
                              'disabled (%s): left as it is.', host,
                              service.get('disabled_reason'))
            else:
                nova.disable_service(service['id'], text)
                if table:
                    self.app.stdout.write('Disabled the compute service of '
                                          '%s: %s\n' % (host, text))

    def planned_status(self, plan, entry, tally):
        if entry['host'] in (plan.get('hosts_emptied') or ()):
            return 'to empty' + (', disabled' if entry.get('disabled')
                                 else '')
        return _kept_text('disabled' if entry.get('disabled') else None)

    def status(self, plan, entry, tally, current, parsed_args):
        name = entry['host']
        emptied = name in (plan.get('hosts_emptied') or ())
        if current is None:
            if emptied:
                self.log.warning('%s was to be emptied: it could not be '
                                 'checked.', name)
                self.exit_code = 1
            return 'not read again'
        service = plans.service_text(current.get('service') or {})
        if not emptied:
            return _kept_text(service if service != 'enabled' else None)
        remain = current['instances']
        if not remain:
            return 'emptied, %s' % service
        if not parsed_args.wait:
            return 'emptying: %d server(s) remain, moves in progress, %s' % (
                remain, service)
        self.log.warning('%s was to be emptied: nova still reports %d '
                         'server(s) on it.', name, remain)
        self.exit_code = 1
        return 'not empty: %d server(s) remain, %s' % (remain, service)
