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

"""The ``availability_zone`` constraint: stay in the source host's zone.

Nova keeps a server in its zone only when it was booted with one; this
constraint keeps every judged move in the source host's zone.
"""

from nova_livemig_ext.constraints import base


class AvailabilityZone(base.Constraint):
    """The destination is in the source host's availability zone."""

    name = 'availability_zone'

    def check(self, move, host):
        if not self.settings.same_availability_zone:
            return None
        source_az = move.source.availability_zone
        if host.availability_zone == source_az:
            return None
        return base.Rejection(
            self.name, host.name,
            'the host is in availability zone %s, the source host %s is '
            'in %s' % (host.availability_zone, move.source.name, source_az),
            {'availability_zone': host.availability_zone,
             'source_availability_zone': source_az})
