using System.Text;
using EmbeddedChroma.Security;

namespace EmbeddedChroma.Tests.Security;

/// <summary>Neither a key's full text nor its secret part appears in messages, ToString, the audit log or the store's files.</summary>
public sealed class SecretLeakTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    private static void ShouldNotContainSecretOf(string text, string key, string what)
    {
        text.Should().NotContain(key, what);
        text.Should().NotContain(KeyRingHarness.SecretOf(key), what);
        text.Should().NotContain(KeyRingHarness.SecretOf(key)[..20], $"{what} (even part of the secret)");
    }

    /// <summary>Drives every failure path with <paramref name="key"/> and returns every exception raised.</summary>
    private List<Exception> FailEverywhere(CreatedApiKey key)
    {
        var errors = new List<Exception>();
        void Catch(Action action)
        {
            try
            {
                action();
            }
            catch (ChromaException ex)
            {
                errors.Add(ex);
            }
        }

        var text = key.Key;
        var flippedChecksum = text[..^1] + (text[^1] == '0' ? '1' : '0');
        var flippedSecret = text[..30] + (text[30] == 'A' ? 'B' : 'A') + text[31..];
        var wrongSecret = ApiKeyFormat.Create(key.Info.KeyId);
        foreach (var variant in new[] { flippedChecksum, flippedSecret, wrongSecret, text + "x", " " + text, text.ToUpperInvariant() })
        {
            Catch(() => _h.Store.Authenticate(variant));
            Catch(() => _h.Store.AuthenticateHeader("Bearer " + variant));
            Catch(() => _h.Store.AuthenticateHeader("Basic " + variant));
            Catch(() => _h.Store.AuthenticateHeaders("Bearer " + text, variant));
            Catch(() => _h.Store.GetClient(variant));
        }

        for (var i = 0; i < 20; i++)
        {
            Catch(() => _h.Store.Authenticate(ApiKeyFormat.Create(key.Info.KeyId))); // into the failure throttle
        }

        var context = _h.Login(key);
        var client = _h.Store.GetClient(context);
        var collection = client.GetCollection("test");
        var ring = _h.Store.GetKeyRing(context);
        Catch(() => client.CreateCollection("forbidden"));                       // forbidden
        Catch(() => client.WithDatabase("db1", "acme"));                         // out of scope
        Catch(() => client.GetCollection("ghost"));                              // out of scope / missing
        Catch(() => ring.ListKeys());                                            // no keyring action
        Catch(() => ring.GetKey(text));                                          // the key text where its id belongs
        Catch(() => _h.AdminRing.GetKey(text));
        Catch(() => _h.AdminRing.RevokeKey(text));
        Catch(() => _h.AdminRing.GetUsage(text));
        Catch(() => client.GetCollection(text));                                 // the key where a name belongs
        Catch(() => client.GetCollection("prod" + text));                        // glued to a name
        Catch(() => client.GetCollection(text[..40]));                           // cut short
        Catch(() => _h.Store.GetClient(context, text));
        Catch(() => _h.Store.GetClient(context, "default_tenant", "db" + text));
        Catch(() => _h.Fx.Client.CreateCollection(text));
        Catch(() => _h.Fx.Client.CreateDatabase(text));
        Catch(() => _h.Fx.Client.CreateTenant(text + "x"));
        Catch(() => _h.AdminRing.CreateKey(new ApiKeySpec { Name = "key for " + text, Actions = [ChromaActions.Count], Resources = ["*"] }));
        Catch(() => _h.AdminRing.CreateKey(new ApiKeySpec { Name = "k", Actions = [ChromaActions.Count], Resources = [$"default_tenant/default_database/{text}"] }));
        Catch(() => _h.AdminRing.CreateKey(new ApiKeySpec { Name = "k", Actions = [text], Resources = ["*"] }));
        Catch(() => collection.Get(where: Where.Eq("$" + text, 1)));
        Catch(() => collection.Get(whereDocument: WhereDocument.Regex("(" + text)));
        for (var i = 0; i < 5; i++)
        {
            Catch(() => collection.Count());                                     // rate limited after the burst
        }

        _h.AdminRing.DisableKey(key.Info.KeyId);
        Catch(() => collection.Count());
        Catch(() => _h.Login(key));
        _h.AdminRing.EnableKey(key.Info.KeyId);
        _h.Clock.Advance(TimeSpan.FromHours(2));                                 // expired
        Catch(() => collection.Count());
        Catch(() => _h.Login(key));
        _h.Clock.Set(ManualTimeProvider.Start + TimeSpan.FromHours(2));
        _h.AdminRing.RevokeKey(key.Info.KeyId);
        Catch(() => collection.Count());
        Catch(() => _h.AdminRing.EnableKey(key.Info.KeyId));
        Catch(() => _h.Login(key));
        return errors;
    }

    private CreatedApiKey Victim() =>
        _h.Mint([ChromaActions.Count, ChromaActions.Get], ["default_tenant/default_database/test"], ManualTimeProvider.Start + TimeSpan.FromHours(1), new ApiKeyRateLimit(1, 3), name: "victim");

    [Fact]
    public void Exceptions_never_contain_the_key_or_its_secret_when_every_failure_path_is_taken()
    {
        _h.Fx.CreateCollection("test");
        var key = Victim();

        var errors = FailEverywhere(key);

        errors.Select(e => e.GetType()).Distinct().Should().BeEquivalentTo(new[]
        {
            typeof(ChromaAuthenticationException), typeof(ChromaAuthorizationException), typeof(ChromaNotFoundException),
            typeof(ChromaRateLimitedException), typeof(ChromaValidationException), typeof(ChromaFilterException),
        });
        foreach (var error in errors)
        {
            ShouldNotContainSecretOf(error.Message, key.Key, $"{error.GetType().Name}: {error.Message}");
            ShouldNotContainSecretOf(error.ToString(), key.Key, $"{error.GetType().Name}.ToString()");
            ShouldNotContainSecretOf(error.ToString(), _h.AdminKey, $"{error.GetType().Name}.ToString()");
        }
    }

    [Fact]
    public void GetKey_throws_not_found_without_echoing_the_secret_when_given_the_full_key_instead_of_its_id()
    {
        var key = _h.Mint([ChromaActions.Count]);

        var act = () => _h.AdminRing.GetKey(key.Key);

        var message = act.Should().Throw<ChromaNotFoundException>().Which.Message;
        ShouldNotContainSecretOf(message, key.Key, message);
    }

    [Fact]
    public void ToString_of_every_key_bearing_object_shows_only_the_display_form()
    {
        _h.Fx.CreateCollection("test");
        var key = Victim();
        var context = _h.Login(key);
        var client = _h.Store.GetClient(context);
        var display = $"eck_{key.Info.KeyId}_…";

        var texts = new Dictionary<string, string>
        {
            ["ApiKeyContext"] = context.ToString(),
            ["CreatedApiKey"] = key.ToString(),
            ["CreatedApiKey.Info"] = key.Info.ToString(),
            ["KeyRingClient"] = _h.Store.GetKeyRing(context).ToString(),
            ["ChromaClient"] = client.ToString(),
            ["Collection"] = client.GetCollection("test").ToString(),
            ["ApiKeyInfo (listed)"] = string.Join("\n", _h.AdminRing.ListKeys().Select(k => k.ToString())),
            ["ApiKeyInfo (get)"] = _h.AdminRing.GetKey(key.Info.KeyId).ToString(),
            ["ApiKeyUsage"] = _h.AdminRing.GetUsage(key.Info.KeyId).ToString(),
            ["ChromaStore"] = _h.Store.ToString(),
        };

        foreach (var (what, text) in texts)
        {
            ShouldNotContainSecretOf(text, key.Key, what);
            ShouldNotContainSecretOf(text, _h.AdminKey, what);
        }

        context.ToString().Should().Be(display);
        key.ToString().Should().Contain(display);
        key.Info.Display.Should().Be(display);
        context.KeyName.Should().Be("victim");
    }

    [Fact]
    public void Audit_log_and_store_files_never_contain_a_secret_when_store_is_closed_after_failures()
    {
        _h.Fx.CreateCollection("test").Add(["a"], [[1f, 2f]], documents: ["doc"]);
        var key = Victim();
        var rotated = _h.AdminRing.RotateKey(_h.Mint([ChromaActions.Count], name: "rotating").Info.KeyId, TimeSpan.FromMinutes(1));
        FailEverywhere(key);

        var audit = _h.AdminRing.ReadAudit(0, 100_000);
        audit.Should().NotBeEmpty();
        foreach (var entry in audit)
        {
            foreach (var secretKey in new[] { key.Key, _h.AdminKey, rotated.Key })
            {
                ShouldNotContainSecretOf(entry.ToString(), secretKey, $"audit entry {entry.Sequence}");
            }
        }

        var folder = _h.Fx.Folder;
        _h.Fx.Close();

        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories);
        files.Should().Contain(f => f.EndsWith("keyring.sqlite3", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            foreach (var secretKey in new[] { key.Key, _h.AdminKey, rotated.Key })
            {
                var secret = KeyRingHarness.SecretOf(secretKey);
                foreach (var encoding in new Encoding[] { Encoding.ASCII, Encoding.Unicode, Encoding.BigEndianUnicode, Encoding.UTF32 })
                {
                    bytes.AsSpan().IndexOf(encoding.GetBytes(secret)).Should().Be(-1, $"{Path.GetFileName(file)} must not hold a secret ({encoding.WebName})");
                }

                bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.ASCII.GetBytes(secret))[..40])).Should().Be(-1, $"{Path.GetFileName(file)} must not hold a base64 secret");
            }
        }
    }
}
