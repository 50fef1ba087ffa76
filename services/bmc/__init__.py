"""Power fencing through the hosts' BMCs: the arbiter leader's shell around the pure decision
(services.arbiter.power; docs/protocol.md, Power fencing through the BMC). The BMC client
libraries are the optional extra `.[bmc]` (sushy for Redfish, pyghmi for IPMI), imported only
when a chain is run."""
