package io.dsf.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.util.Collection;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Runs every JMH benchmark once, very briefly and in-process, so they never rot. Not a measurement. */
class JmhSmokeTest {
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyBenchmarkRuns() throws Exception {
        Options opt = new OptionsBuilder()
                .include("io\\.dsf\\.bench\\.(jmh|store)\\..*")
                .forks(0)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(100))
                .shouldFailOnError(true)
                .verbosity(org.openjdk.jmh.runner.options.VerboseMode.SILENT)
                .build();
        Collection<RunResult> results = new Runner(opt).run();
        // BufferPool: 2 methods; NullSubmitComplete: 2 methods x 2 ops; StoreChannel: 2; UnifiedCache: 5; VDisk: 4;
        // VirtioRequest: 2 protocols x 2 directions; ClientRequest: 2 protocols
        assertEquals(23, results.size());
        for (RunResult r : results) {
            double score = r.getPrimaryResult().getScore();
            assertTrue(score > 0 && Double.isFinite(score), r.getParams().getBenchmark() + " " + score);
        }
    }
}
