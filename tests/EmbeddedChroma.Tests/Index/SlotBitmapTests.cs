using EmbeddedChroma.Index;

namespace EmbeddedChroma.Tests.Index;

/// <summary>The one slot-bitmap layout (<see cref="SlotBitmap"/>): bit i &amp; 63 of word i &gt;&gt; 6, checked against a plain set.</summary>
public sealed class SlotBitmapTests
{
    [Fact]
    public void Set_and_Contains_agree_with_a_set_when_slots_grow_the_bitmap_at_random()
    {
        var random = new Random(17);
        var bits = Array.Empty<ulong>();
        var expected = new HashSet<int>();
        for (var i = 0; i < 5_000; i++)
        {
            var slot = random.Next(0, 3_000);
            var value = random.Next(3) > 0;
            SlotBitmap.Set(ref bits, slot, value);
            if (value)
            {
                expected.Add(slot);
            }
            else
            {
                expected.Remove(slot);
            }
        }

        Enumerable.Range(-70, 3_200).Where(slot => SlotBitmap.Contains(bits, slot)).Should().BeEquivalentTo(expected);
        SlotBitmap.Count(bits).Should().Be(expected.Count);
        SlotBitmap.ToSlots(bits).Should().Equal(expected.Order());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1_000)]
    public void Dense_holds_exactly_the_first_slots(int count)
    {
        var bits = SlotBitmap.Dense(count);

        SlotBitmap.ToSlots(bits).Should().Equal(Enumerable.Range(0, count));
        bits.Length.Should().Be(Math.Max(1, SlotBitmap.WordsFor(count)));
    }

    [Fact]
    public void FromSlots_leaves_out_slots_past_its_words_and_negative_slots()
    {
        var bits = SlotBitmap.FromSlots([-1, 0, 63, 64, 127, 128, 500], words: 2);

        SlotBitmap.ToSlots(bits).Should().Equal(0, 63, 64, 127);
        SlotBitmap.Contains(bits, -1).Should().BeFalse();
        SlotBitmap.Contains(bits, 128).Should().BeFalse();
    }
}
