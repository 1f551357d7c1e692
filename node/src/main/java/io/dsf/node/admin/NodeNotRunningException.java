package io.dsf.node.admin;

import java.nio.file.Path;

/** Nothing answers on the admin socket: no node runs there (or it died). Immutable. */
public final class NodeNotRunningException extends AdminException {
    public NodeNotRunningException(Path socket, String why) {
        super("no node is running at " + socket + " (" + why + "); start one with ./dsf up, or name it with --node SOCKET or --data DIR");
    }
}
