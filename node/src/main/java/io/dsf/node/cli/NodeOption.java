package io.dsf.node.cli;

import io.dsf.node.admin.AdminClient;
import io.dsf.node.admin.AdminException;
import io.dsf.node.up.Node;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Map;

/**
 * How an admin command finds its node ({@code --node SOCKET} or {@code --data DIR}; default the
 * {@code up} default {@code var/node}) and sends it one request. Control plane; one command's thread.
 */
public final class NodeOption {
    /** Deadline of one admin request (snapshots drain an OpLog: allow minutes). */
    public static final long TIMEOUT_MILLIS = 600_000;

    @Option(names = "--node", paramLabel = "SOCKET", description = "The node's admin socket (what 'endpoint admin - SOCKET' names).")
    Path node;

    @Option(names = "--data", paramLabel = "DIR", description = "The node's data directory, as given to 'dsf up --data' (default: var/node).")
    Path data;

    /** The admin socket this command talks to. */
    public Path socket() {
        if (node != null) return node.toAbsolutePath().normalize();
        return (data != null ? data : Path.of("var", "node")).toAbsolutePath().normalize().resolve(Node.ADMIN_SOCKET);
    }

    /** Sends one request and returns the reply (an error reply or no node throws). */
    public Map<String, Object> call(Map<String, Object> request) throws AdminException {
        try (AdminClient c = AdminClient.connect(socket())) {
            return c.call(request, TIMEOUT_MILLIS);
        }
    }
}
