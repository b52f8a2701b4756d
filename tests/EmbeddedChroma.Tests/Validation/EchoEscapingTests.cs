using EmbeddedChroma.Security;
using EmbeddedChroma.Tests.Security;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Validation;

/// <summary>
/// A caller's text echoed into any message (validation, not found, filter errors, the audit log) is escaped: unpaired
/// surrogates, NUL, CR/LF and ESC come out as <c>\uXXXX</c>, <c>\r</c>, <c>\n</c>, so every message is valid UTF-16 on
/// one line (a strict UTF-8 log writer accepts it, no log line can be forged) and still shows the offending value.
/// </summary>
public sealed class EchoEscapingTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>Raw text and how it must appear once escaped (index-addressed: xunit cannot carry lone surrogates).</summary>
    private static readonly (string Raw, string Escaped)[] Values =
    [
        ("bad\ud800name", "bad\\uD800name"),
        ("bad\udc00", "bad\\uDC00"),
        ("nul\0name", "nul\\u0000name"),
        ("cr\rlf\nname", "cr\\rlf\\nname"),
        ("esc\u001b[31mname", "esc\\u001B[31mname"),
        ("sep\u2028name", "sep\\u2028name"),
    ];

    public static TheoryData<int> Cases => new(Enumerable.Range(0, Values.Length));

    private static void ShouldEcho(string message, string escaped)
    {
        EchoAssertions.ShouldBeCleanText(message);
        message.Should().Contain(escaped, "the escaped value still identifies what was wrong");
    }

    private static string MessageOf(Action act) => FluentActions.Invoking(act).Should().Throw<ChromaException>().Which.Message;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Validation_messages_escape_the_value_when_a_name_id_or_metadata_key_holds_control_characters_or_lone_surrogates(int index)
    {
        var (raw, escaped) = Values[index];
        var collection = _h.Fx.CreateCollection("things");

        ShouldEcho(MessageOf(() => _h.Fx.Client.CreateCollection(raw)), escaped);
        ShouldEcho(MessageOf(() => _h.Fx.Client.CreateTenant(raw)), escaped);
        ShouldEcho(MessageOf(() => _h.Fx.Client.CreateDatabase(raw)), escaped);
        ShouldEcho(MessageOf(() => collection.Modify(name: raw)), escaped);
        ShouldEcho(MessageOf(() => collection.Add(["a"], [[1f, 2f]], metadatas: [StoreFixture.Meta(("$" + raw, 1L))])), escaped);
        ShouldEcho(MessageOf(() => _h.AdminRing.CreateKey(new ApiKeySpec { Name = "k", Actions = [raw], Resources = ["*"] })), escaped);
        ShouldEcho(MessageOf(() => _h.AdminRing.CreateKey(new ApiKeySpec { Name = "k", Actions = [ChromaActions.Count], Resources = [$"a/b/c/{raw}"] })), escaped);
        if (!char.IsSurrogate(raw[^1]) && !raw.Any(char.IsSurrogate))
        {
            // Ids may hold control characters (they are data); a duplicate is echoed escaped.
            ShouldEcho(MessageOf(() => collection.Add([raw, raw], [[1f, 2f], [1f, 2f]])), escaped);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Not_found_messages_escape_the_value_when_a_name_or_key_id_holds_control_characters_or_lone_surrogates(int index)
    {
        var (raw, escaped) = Values[index];
        var scoped = _h.Login(_h.Mint([ChromaActions.GetCollection], ["default_tenant/default_database/things"]));

        ShouldEcho(MessageOf(() => _h.Store.GetClient(scoped, raw)), escaped);
        ShouldEcho(MessageOf(() => _h.Store.GetClient(scoped, "default_tenant", raw)), escaped);
        ShouldEcho(MessageOf(() => _h.Store.GetClient(scoped).GetCollection(raw)), escaped);
        ShouldEcho(MessageOf(() => _h.Fx.Client.GetCollection(raw)), escaped);
        ShouldEcho(MessageOf(() => _h.Fx.Client.GetTenant(raw)), escaped);
        ShouldEcho(MessageOf(() => _h.Store.GetClient(_h.AdminContext, raw).GetCollection("things")), escaped);
        ShouldEcho(MessageOf(() => _h.AdminRing.GetKey(raw)), escaped);
        ShouldEcho(MessageOf(() => _h.AdminRing.RevokeKey(raw)), escaped);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Filter_errors_escape_the_value_when_a_key_operator_or_pattern_holds_control_characters_or_lone_surrogates(int index)
    {
        var (raw, escaped) = Values[index];
        var json = System.Text.Json.JsonSerializer.Serialize(raw); // a JSON string literal with \u escapes

        ShouldEcho(MessageOf(() => Where.Eq("$" + raw, 1)), escaped);
        var inner = json[1..^1];
        if (raw.Any(char.IsSurrogate))
        {
            // JSON cannot carry a lone surrogate into a .NET string: the parser says so, in clean text.
            EchoAssertions.ShouldBeCleanText(MessageOf(() => Where.Parse("{\"k\": {\"$like" + inner + "\": 1}}")));
            EchoAssertions.ShouldBeCleanText(MessageOf(() => WhereDocument.Parse("{" + json + ": \"x\"}")));
        }
        else
        {
            ShouldEcho(MessageOf(() => Where.Parse("{\"k\": {\"$like" + inner + "\": 1}}")), escaped);
            ShouldEcho(MessageOf(() => Where.Parse("{" + json + ": {\"$like\": 1}}")), escaped);
            ShouldEcho(MessageOf(() => WhereDocument.Parse("{" + json + ": \"x\"}")), escaped);
            ShouldEcho(MessageOf(() => WhereDocument.Regex("(" + raw)), escaped);
        }

        var collection = _h.Fx.CreateCollection("things");
        ShouldEcho(MessageOf(() => collection.Get(where: Where.Eq("$" + raw, 1))), escaped);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Audit_entries_escape_the_value_when_an_out_of_scope_name_holds_control_characters_or_lone_surrogates(int index)
    {
        var (raw, escaped) = Values[index];
        var scoped = _h.Login(_h.Mint([ChromaActions.GetCollection], ["default_tenant/default_database/things"]));
        var before = _h.AdminRing.ReadAudit(0, 100_000).Count;

        FluentActions.Invoking(() => _h.Store.GetClient(scoped, raw)).Should().Throw<ChromaNotFoundException>();
        FluentActions.Invoking(() => _h.Store.GetClient(scoped).GetCollection(raw)).Should().Throw<ChromaException>();

        var entries = _h.AdminRing.ReadAudit(0, 100_000).Skip(before).ToList();
        entries.Should().NotBeEmpty();
        foreach (var entry in entries)
        {
            EchoAssertions.ShouldBeCleanText(entry.ToString());
        }

        entries.Should().Contain(e => e.Detail != null && e.Detail.Contains(escaped, StringComparison.Ordinal), "the audit entry still names the resource asked for");
    }
}
