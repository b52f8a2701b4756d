using System.Runtime.CompilerServices;
using EmbeddedChroma.Internal;

namespace EmbeddedChroma.Tests.Internal;

/// <summary>
/// The compact rows' memory: grows in place inside its reservation (no copy, the address of row 0 kept), holds memory
/// only for the rows written, passes 2 GiB, moves intact past its reservation, and fails clearly once freed or when
/// asked for a row it does not hold.
/// </summary>
public sealed class NativeRowsTests
{
    private static void Fill(Span<byte> row, int slot)
    {
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = (byte)((slot * 31) + i);
        }
    }

    private static bool Holds(ReadOnlySpan<byte> row, int slot)
    {
        for (var i = 0; i < row.Length; i++)
        {
            if (row[i] != (byte)((slot * 31) + i))
            {
                return false;
            }
        }

        return true;
    }

    private static unsafe nint Address(NativeRows rows) => (nint)Unsafe.AsPointer(ref rows.First);

    [Fact]
    public void Rows_grow_in_place_within_the_reservation_keeping_every_row()
    {
        using var rows = new NativeRows(448, 64);
        var first = Address(rows);
        (first % 64).Should().Be(0, "row 0 starts on a cache line");

        for (var slot = 0; slot < 100_000; slot++)
        {
            Fill(rows.WritableRow(slot), slot);
        }

        Address(rows).Should().Be(first, "growing inside the reservation moves no row (and so copies none)");
        rows.SlotCount.Should().Be(100_000);
        rows.Capacity.Should().BeGreaterThanOrEqualTo(100_000);
        Enumerable.Range(0, 100_000).Where(slot => !Holds(rows.Row(slot), slot)).Should().BeEmpty("every row keeps what was written");
    }

    [Fact]
    public void Memory_counts_the_pages_of_the_rows_written_not_the_room_made()
    {
        if (Environment.SystemPageSize != 4096)
        {
            return; // The figures below are for 4 KiB pages.
        }

        using var rows = new NativeRows(448, 1_000_000);
        rows.ResidentBytes.Should().Be(0, "no row is written yet");
        Fill(rows.WritableRow(8), 8);
        rows.ResidentBytes.Should().Be(Environment.SystemPageSize, "nine rows of 448 bytes lie on one 4 KiB page");
        Fill(rows.WritableRow(99_999), 99_999);
        var used = 100_000L * 448;
        rows.ResidentBytes.Should().Be((used + Environment.SystemPageSize - 1) / Environment.SystemPageSize * Environment.SystemPageSize);
    }

    [Fact]
    public void Room_made_ahead_is_not_backed_by_memory_until_written()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // Reads the process's resident pages from /proc.
        }

        static long Resident() => long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]) * Environment.SystemPageSize;

        using var rows = new NativeRows(1 << 20, 1);
        var before = Resident();
        rows.SetSlotCount(1_024); // 1 GiB of rows made present, none written
        var after = Resident();
        rows.UsedBytes.Should().Be(1L << 30);
        (after - before).Should().BeLessThan(256L << 20, "a page is backed only once written (tests beside this one allocate too, hence the margin)");
        Fill(rows.WritableRow(1_023), 1_023);
        Holds(rows.Row(1_023), 1_023).Should().BeTrue();
        rows.Row(0)[0].Should().Be(0, "a row never written reads as zeros");
    }

    [Fact]
    public void Rows_pass_two_gibibytes()
    {
        using var rows = new NativeRows(1 << 20, 1);
        const int Far = 3_000; // ~3 GiB from row 0; only the pages written are backed
        Fill(rows.WritableRow(Far), Far);
        Fill(rows.WritableRow(5), 5);
        rows.UsedBytes.Should().BeGreaterThan(int.MaxValue);
        Holds(rows.Row(Far), Far).Should().BeTrue();
        Holds(rows.Bytes((long)Far << 20, 1 << 20), Far).Should().BeTrue("bytes are addressed with 64-bit offsets");
        Holds(rows.Row(5), 5).Should().BeTrue();
    }

    [Fact]
    public void Rows_move_intact_past_their_reservation()
    {
        using var rows = new NativeRows(448, 16, minimumReservation: 1 << 20);
        var first = Address(rows);
        for (var slot = 0; slot < 20_000; slot++)
        {
            Fill(rows.WritableRow(slot), slot);
        }

        Address(rows).Should().NotBe(first, "8.9 MB of rows do not fit a 1 MiB reservation (4 × the first need)");
        Enumerable.Range(0, 20_000).Where(slot => !Holds(rows.Row(slot), slot)).Should().BeEmpty("every row was carried over");
    }

    [Fact]
    public void Rows_without_a_reservation_grow_by_moving_and_keep_every_row()
    {
        // The path of a platform where address space cannot be reserved: one allocation, replaced as the rows grow.
        using var rows = new NativeRows(448, 16, NativeRows.MinimumReservation, reserve: false);
        (Address(rows) % 64).Should().Be(0, "row 0 starts on a cache line here too");
        for (var slot = 0; slot < 20_000; slot++)
        {
            Fill(rows.WritableRow(slot), slot);
        }

        rows.Capacity.Should().BeInRange(20_000, 30_000, "grown by half at a time from the rows needed");
        rows.ResidentBytes.Should().BeInRange((long)rows.Capacity * 448, ((long)rows.Capacity * 448) + 447, "without a reservation the whole allocation counts");
        Enumerable.Range(0, 20_000).Where(slot => !Holds(rows.Row(slot), slot)).Should().BeEmpty("every row was carried over each move");
    }

    [Fact]
    public void A_row_or_bytes_outside_the_rows_and_freed_rows_fail_clearly()
    {
        var rows = new NativeRows(64, 4);
        Fill(rows.WritableRow(2), 2);
        rows.Invoking(r => r.Row(3)).Should().Throw<ArgumentOutOfRangeException>();
        rows.Invoking(r => r.Row(-1)).Should().Throw<ArgumentOutOfRangeException>();
        rows.Invoking(r => r.Bytes(64, 192)).Should().Throw<ArgumentOutOfRangeException>();
        rows.Invoking(r => r.WritableRow(-1)).Should().Throw<ArgumentOutOfRangeException>();
        rows.Dispose();
        rows.Dispose(); // twice is harmless
        rows.Invoking(r => r.First).Should().Throw<ObjectDisposedException>();
        rows.Invoking(r => r.WritableRow(0)).Should().Throw<ObjectDisposedException>();
        rows.Invoking(r => r.Row(0)).Should().Throw<ObjectDisposedException>();
        rows.Invoking(r => r.Bytes(0, 1)).Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void Same_bytes_compares_every_row()
    {
        using var a = new NativeRows(64, 4);
        using var b = new NativeRows(64, 4);
        for (var slot = 0; slot < 3; slot++)
        {
            Fill(a.WritableRow(slot), slot);
            Fill(b.WritableRow(slot), slot);
        }

        a.SameBytes(b).Should().BeTrue();
        b.WritableRow(2)[63] ^= 1;
        a.SameBytes(b).Should().BeFalse("one bit differs in the last row");
        Fill(b.WritableRow(2), 2);
        Fill(b.WritableRow(3), 3);
        a.SameBytes(b).Should().BeFalse("b holds a row more");
    }
}
