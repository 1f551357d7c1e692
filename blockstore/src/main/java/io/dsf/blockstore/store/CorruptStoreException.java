package io.dsf.blockstore.store;

import io.dsf.blockstore.store.meta.Problem;

import java.util.List;

/** The store cannot be opened: its metadata is damaged or it is not a store. Lists every problem found. Immutable. */
public final class CorruptStoreException extends StoreException {
    private static final long serialVersionUID = 1L;
    private final transient List<Problem> problems;

    public CorruptStoreException(String device, List<Problem> problems) {
        super(StoreStatus.FAILED.code(), "cannot open the store on " + device + ":\n  "
                + String.join("\n  ", problems.stream().map(Problem::toString).toList()));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() { return problems; }
}
