using System.Text;
using EmbeddedChroma.Security;
using EmbeddedChroma.Tests.TestUtilities;

namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// A key pasted where a name belongs (tenant, database, collection, key name, resource path, or glued into one) is
/// refused with a message that says so without repeating it, and so reaches no message, audit entry, log line or file.
/// </summary>
public sealed class SecretEchoTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Key => _h.AdminKey;

    /// <summary>Every 8-character piece of the key's secret: none may appear anywhere.</summary>
    private static IEnumerable<string> SecretPieces(string key)
    {
        var secret = KeyRingHarness.SecretOf(key);
        for (var i = 0; i + 8 <= secret.Length; i += 4)
        {
            yield return secret.Substring(i, 8);
        }
    }

    private static void ShouldHoldNoSecret(string text, string key, string what)
    {
        foreach (var piece in SecretPieces(key))
        {
            text.Should().NotContain(piece, what);
            text.Should().NotContain(piece.ToUpperInvariant(), what);
        }
    }

    /// <summary>The key as given, glued to other text, cut short, and in upper case: each is key-shaped.</summary>
    private IEnumerable<(string What, string Name)> KeyVariants() =>
    [
        ("the whole key", Key),
        ("a name ending in the key", "prod" + Key),
        ("a name starting with the key", Key + "-v2"),
        ("the key cut short", Key[..40]),
        ("the key in upper case", Key.ToUpperInvariant()),
    ];

    /// <summary>Every entry point that takes a tenant, database, collection or key name, or a resource path.</summary>
    private List<(string Call, Action Act)> NameTakingCalls(string name)
    {
        var client = _h.Fx.Client;
        var collection = client.GetOrCreateCollection("named");
        return
        [
            ("CreateTenant", () => client.CreateTenant(name)),
            ("GetTenant", () => client.GetTenant(name)),
            ("DeleteTenant", () => client.DeleteTenant(name)),
            ("CreateDatabase", () => client.CreateDatabase(name)),
            ("CreateDatabase in tenant", () => client.CreateDatabase("db1", name)),
            ("GetDatabase", () => client.GetDatabase(name)),
            ("DeleteDatabase", () => client.DeleteDatabase(name)),
            ("CreateCollection", () => client.CreateCollection(name)),
            ("GetOrCreateCollection", () => client.GetOrCreateCollection(name)),
            ("GetCollection", () => client.GetCollection(name)),
            ("DeleteCollection", () => client.DeleteCollection(name)),
            ("Collection.Modify", () => collection.Modify(name: name)),
            ("GetClient tenant", () => _h.Store.GetClient(_h.AdminContext, name)),
            ("GetClient database", () => _h.Store.GetClient(_h.AdminContext, "default_tenant", name)),
            ("WithDatabase", () => client.WithDatabase(name)),
            ("CreateKey name", () => _h.AdminRing.CreateKey(new ApiKeySpec { Name = name, Actions = [ChromaActions.Count], Resources = ["*"] })),
            ("CreateKey name with a key inside", () => _h.AdminRing.CreateKey(new ApiKeySpec { Name = "backup job " + name, Actions = [ChromaActions.Count], Resources = ["*"] })),
            ("CreateKey resource", () => _h.AdminRing.CreateKey(new ApiKeySpec { Name = "k", Actions = [ChromaActions.Count], Resources = [$"default_tenant/{name}"] })),
        ];
    }

    [Fact]
    public void Every_name_taking_call_rejects_a_key_without_repeating_it_when_a_key_is_passed_as_the_name()
    {
        foreach (var (what, name) in KeyVariants())
        {
            foreach (var (call, act) in NameTakingCalls(name))
            {
                var message = act.Should().Throw<ChromaValidationException>($"{call} with {what}").Which.Message;
                message.Should().Contain("API key", $"{call} with {what} must say why");
                ShouldHoldNoSecret(message, Key, $"{call} with {what}: {message}");
            }
        }
    }

    [Fact]
    public void Audit_log_files_and_listings_hold_no_secret_when_keys_were_passed_as_names()
    {
        var scoped = _h.Login(_h.Mint([ChromaActions.Get, ChromaActions.GetCollection], ["default_tenant/default_database/named"]));
        foreach (var (_, name) in KeyVariants())
        {
            foreach (var (_, act) in NameTakingCalls(name))
            {
                try
                {
                    act();
                }
                catch (ChromaException)
                {
                }
            }

            // Out-of-scope and not-found paths of a scoped key, and key ids given as the whole key.
            foreach (var act in new Action[]
            {
                () => _h.Store.GetClient(scoped).GetCollection(name),
                () => _h.Store.GetClient(scoped, name, "x"),
                () => _h.AdminRing.GetKey(name),
                () => _h.AdminRing.RevokeKey(name),
            })
            {
                var error = act.Should().Throw<ChromaException>().Which;
                ShouldHoldNoSecret(error.ToString(), Key, error.Message);
            }
        }

        foreach (var entry in _h.AdminRing.ReadAudit(0, 100_000))
        {
            ShouldHoldNoSecret(entry.ToString(), Key, $"audit entry {entry.Sequence}");
        }

        _h.Fx.Client.ListCollections().Select(c => c.Name).Should().Equal("named");
        _h.AdminRing.ListKeys().Should().OnlyContain(k => !k.Name.Contains("eck_", StringComparison.OrdinalIgnoreCase));
        var folder = _h.Fx.Folder;
        _h.Fx.Close();
        foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var piece in SecretPieces(Key))
            {
                foreach (var encoding in new Encoding[] { Encoding.ASCII, Encoding.Unicode })
                {
                    bytes.AsSpan().IndexOf(encoding.GetBytes(piece)).Should().Be(-1, $"{Path.GetFileName(file)} must not hold a piece of the secret");
                    bytes.AsSpan().IndexOf(encoding.GetBytes(piece.ToUpperInvariant())).Should().Be(-1, $"{Path.GetFileName(file)} must not hold a piece of the secret");
                }
            }
        }
    }

    /// <summary>Names with what is wrong in them (an index into this list is the theory's data: xunit cannot carry lone surrogates).</summary>
    private static readonly (string What, string Name)[] BadKeyNameList =
    [
        ("line feed", "ops\nkey"),
        ("carriage return", "ops\rkey"),
        ("NUL", "ops\0key"),
        ("escape sequence", "ops\u001b[31mkey"),
        ("next line (C1)", "ops\u0085key"),
        ("line separator", "ops\u2028key"),
        ("paragraph separator", "ops\u2029key"),
        ("tab", "ops\tkey"),
        ("unpaired surrogate", "ops\ud800key"),
    ];

    public static TheoryData<int> BadKeyNames => new(Enumerable.Range(0, BadKeyNameList.Length));

    [Theory]
    [MemberData(nameof(BadKeyNames))]
    public void CreateKey_rejects_the_name_when_it_holds_control_characters_or_line_breaks(int index)
    {
        var (what, name) = BadKeyNameList[index];
        var act = () => _h.AdminRing.CreateKey(new ApiKeySpec { Name = name, Actions = [ChromaActions.Count], Resources = ["*"] });

        var message = act.Should().Throw<ChromaValidationException>(what).Which.Message;
        message.Should().Contain("key name");
        EchoAssertions.ShouldBeCleanText(message);
        _h.AdminRing.ListKeys().Should().OnlyContain(k => k.Name == "admin", "nothing was written");
    }

    [Fact]
    public void CreateKey_accepts_free_text_names_when_they_hold_no_control_characters()
    {
        var created = _h.AdminRing.CreateKey(new ApiKeySpec { Name = "Nightly backup — ops team (é, 日本, 🔑) eck_ note", Actions = [ChromaActions.Count], Resources = ["*"] });

        created.Info.Name.Should().Be("Nightly backup — ops team (é, 日本, 🔑) eck_ note");
    }

    [Fact]
    public void Log_lines_and_messages_mask_a_key_and_escape_control_characters_when_the_store_path_holds_them()
    {
        using var root = new TempStoreFolder("ec-echo");
        var other = _h.Mint([ChromaActions.Count]).Key;
        var folder = Path.Combine(root.Path, "store " + other + " \u001b[2Jx");
        var log = new CapturingLogger();
        var options = new ChromaStoreOptions { Logger = log };
        Guid id;
        string admin;
        using (var store = ChromaStore.Create(folder, out admin, options))
        {
            var collection = store.GetClient(admin).CreateCollection("col");
            collection.Add(["a"], [[1f, 2f]]);
            id = collection.Id;
        }

        File.WriteAllBytes(Path.Combine(folder, "vectors", id.ToString("N") + ".vec"), [1, 2, 3]); // damaged: rebuilt with a warning
        string closedMessage;
        using (var store = ChromaStore.Open(folder, options))
        {
            var context = store.Authenticate(admin);
            store.GetClient(context).GetCollection("col").Count().Should().Be(1);
            store.Dispose();
            closedMessage = FluentActions.Invoking(() => store.GetClient(context)).Should().Throw<ChromaStoreClosedException>().Which.Message;
        }

        log.Entries.Should().Contain(e => e.Message.Contains("vector arena", StringComparison.Ordinal));
        foreach (var text in log.Entries.Select(e => e.Message).Append(closedMessage))
        {
            ShouldHoldNoSecret(text, other, text);
            EchoAssertions.ShouldBeCleanText(text);
            text.Should().Contain("\\u001B[2Jx", "the escaped path still identifies the folder");
        }
    }
}
