package io.dsf.stargate.core;

import io.dsf.blockstore.store.StoreObject;
import org.agrona.collections.Long2LongHashMap;

/**
 * A shard's persistent starting state, loaded from its block-map log at open (or copied from a
 * base vDisk for a snapshot or clone) and handed to the shard thread before it starts; not shared
 * afterwards.
 */
final class ShardState {
    final Long2LongHashMap mapExt = new Long2LongHashMap(Shard.MISSING);
    final Long2LongHashMap mapSeq = new Long2LongHashMap(-1); // missing: -1
    StoreObject mapObj;
    /** The shard's record of the peers that may hold its needed history (null: none yet). */
    StoreObject replicaPeers;
    long mapGen, mapPos, mapPageSeq, nextSeq;
}
