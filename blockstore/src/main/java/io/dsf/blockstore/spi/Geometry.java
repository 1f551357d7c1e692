package io.dsf.blockstore.spi;

/**
 * What a device is and what it accepts. Immutable.
 *
 * @param capacity        usable bytes (a multiple of {@code blockSize})
 * @param blockSize       logical block size: offsets and lengths must be multiples of it
 * @param bufferAlignment required alignment of buffer addresses in memory
 * @param maxTransfer     largest single read or write in bytes
 * @param trimSupported   whether {@link DeviceQueue#trim} does anything (else it completes with UNSUPPORTED)
 * @param trimReadsZero   whether trimmed blocks are guaranteed to read back as zeros
 * @param volatileCache   whether written data may be lost on power loss until a completed flush
 */
public record Geometry(long capacity, int blockSize, int bufferAlignment, int maxTransfer,
                       boolean trimSupported, boolean trimReadsZero, boolean volatileCache) {
    public Geometry {
        if (blockSize <= 0 || Integer.bitCount(blockSize) != 1)
            throw new IllegalArgumentException("block size must be a power of two: " + blockSize);
        if (bufferAlignment <= 0 || Integer.bitCount(bufferAlignment) != 1)
            throw new IllegalArgumentException("buffer alignment must be a power of two: " + bufferAlignment);
        if (capacity < 0 || capacity % blockSize != 0)
            throw new IllegalArgumentException("capacity " + capacity + " not a multiple of block size " + blockSize);
        if (maxTransfer < blockSize)
            throw new IllegalArgumentException("max transfer " + maxTransfer + " below block size " + blockSize);
    }

    public long blocks() { return capacity / blockSize; }
}
