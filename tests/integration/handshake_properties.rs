//! The connection table's property: whatever frames arrive on whatever
//! connections, no data reaches the VM from a connection that has not said a
//! valid hello. (The model's own properties are with the core crate,
//! `crates/core/tests/properties.rs`.)

use crate::common::vid;
use lc_core::model::{Message, VmId};
use logical_clocks::connections::{ConnectionTable, Expect, FrameOutcome};
use logical_clocks::messages::{ConnId, Frame, PROTOCOL_VERSION};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Arbitrary frames on arbitrary connections: no data reaches the VM
    /// from a connection that has not said a valid hello, a peer is
    /// identified at most once, and data always names the connection's peer.
    #[test]
    fn the_handshake_admits_only_identified_peers(
        frames in prop::collection::vec((0u64..4, 0u8..5, 1u32..6, any::<bool>()), 1..80)
    ) {
        const TOKEN: u64 = 77;
        let mut table = ConnectionTable::new(vid(3), vec![vid(1), vid(2), vid(4), vid(5)], TOKEN, true);
        let mut peer_of: BTreeMap<u64, VmId> = BTreeMap::new();
        let mut identified = HashSet::new();
        for conn in 0..4 {
            table.opened(ConnId::Tcp(conn), Expect::AnyPeer);
        }
        for (conn, kind, vm, good_token) in frames {
            let vm = vid(vm);
            let frame = match kind {
                0 | 1 => Frame::Hello {
                    version: PROTOCOL_VERSION,
                    token: if good_token { TOKEN } else { TOKEN + 1 },
                    vm,
                },
                // A clock of the run's size (5 VMs), or of `vm` entries.
                2 | 3 => Frame::Data {
                    message: Message {
                        from: vm,
                        seq: 1,
                        lc: 1,
                        vc: vec![1; if kind == 2 { 5 } else { vm.get() as usize }],
                    },
                    sent_at: 0,
                },
                _ => Frame::Bye,
            };
            match table.frame(ConnId::Tcp(conn), &frame.encode()) {
                FrameOutcome::Identified(peer) => {
                    prop_assert!(good_token && peer != vid(3) && peer == vm);
                    prop_assert!(identified.insert(peer), "VM {} identified twice", peer);
                    peer_of.insert(conn, peer);
                }
                FrameOutcome::Data { peer, message, .. } => {
                    prop_assert_eq!(peer_of.get(&conn), Some(&peer));
                    prop_assert_eq!(message.from, peer);
                    prop_assert_eq!(message.vc.len(), 5, "a clock of another size got through");
                }
                FrameOutcome::Bye => prop_assert!(peer_of.contains_key(&conn)),
                FrameOutcome::Rejected(_) | FrameOutcome::Ignored => {
                    peer_of.remove(&conn);
                }
                // No peer is ever lost, this VM never crashes, and no
                // control frame is sent here.
                other @ (FrameOutcome::Rejoined(_)
                | FrameOutcome::Lost(_)
                | FrameOutcome::Signal(_)) => {
                    prop_assert!(false, "{:?} without a loss or a crash", other);
                }
            }
        }
    }
}
