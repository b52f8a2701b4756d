namespace EmbeddedChroma.Tests.Security;

/// <summary>
/// Action × scope: for every concrete action, a key granted exactly that action on a narrow resource can do the
/// call that maps to it; a key with every other action is forbidden (the message names the action); a key with
/// that action on a sibling resource gets "not found".
/// </summary>
public sealed class ActionMatrixTests : IDisposable
{
    private readonly KeyRingHarness _h = new();

    public void Dispose() => _h.Dispose();

    /// <summary>One action: its narrowest in-scope resource, a sibling resource, and the call it gates.</summary>
    private sealed record Case(string InScope, string? OutOfScope, Action<ChromaStore, ApiKeyContext> Call);

    private static void BackupAndDelete(ChromaClient client)
    {
        var destination = Path.Combine(Path.GetTempPath(), "EmbeddedChroma.Tests", "backup-" + Guid.NewGuid().ToString("N"));
        try
        {
            client.Backup(destination).Bytes.Should().BePositive();
        }
        finally
        {
            if (Directory.Exists(destination))
            {
                Directory.Delete(destination, recursive: true);
            }
        }
    }

    private static Collection Coll(ChromaStore s, ApiKeyContext c) => s.GetClient(c, "acme", "db1").GetCollection("coll");

    private static readonly Dictionary<string, Case> DataCases = new()
    {
        [ChromaActions.SystemHeartbeat] = new("acme/db1/coll", null, (s, c) => s.GetClient(c, "acme", "db1").Heartbeat().Should().BePositive()),
        [ChromaActions.SystemBackup] = new("*", null, (s, c) => BackupAndDelete(s.GetClient(c, "acme", "db1"))),
        [ChromaActions.CreateTenant] = new("newtenant", "acme", (s, c) => s.GetClient(c, "newtenant", "db1").CreateTenant("newtenant")),
        [ChromaActions.GetTenant] = new("acme", "beta", (s, c) => s.GetClient(c, "acme", "db1").GetTenant("acme")),
        [ChromaActions.ListTenants] = new("acme", null, (s, c) => s.GetClient(c, "acme", "db1").ListTenants().Should().Equal("acme")),
        [ChromaActions.DeleteTenant] = new("spare", "acme", (s, c) => s.GetClient(c, "spare", "db1").DeleteTenant("spare")),
        [ChromaActions.CreateDatabase] = new("acme/newdb", "acme/db2", (s, c) => s.GetClient(c, "acme", "newdb").CreateDatabase("newdb")),
        [ChromaActions.GetDatabase] = new("acme/db1", "acme/db2", (s, c) => s.GetClient(c, "acme", "db1").GetDatabase("db1").Name.Should().Be("db1")),
        [ChromaActions.ListDatabases] = new("acme/db1", "beta", (s, c) => s.GetClient(c, "acme", "db1").ListDatabases().Select(d => d.Name).Should().Equal("db1")),
        [ChromaActions.DeleteDatabase] = new("acme/spare_db", "acme/db2", (s, c) => s.GetClient(c, "acme", "spare_db").DeleteDatabase("spare_db")),
        [ChromaActions.CreateCollection] = new("acme/db1/newcoll", "acme/db1/other", (s, c) => s.GetClient(c, "acme", "db1").CreateCollection("newcoll")),
        [ChromaActions.GetCollection] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Name.Should().Be("coll")),
        [ChromaActions.GetOrCreateCollection] = new("acme/db1/coll", "acme/db1/other", (s, c) => s.GetClient(c, "acme", "db1").GetOrCreateCollection("coll").Name.Should().Be("coll")),
        [ChromaActions.ListCollections] = new("acme/db1", "acme/db2", (s, c) => s.GetClient(c, "acme", "db1").ListCollections().Select(i => i.Name).Should().Equal("coll", "other")),
        [ChromaActions.DeleteCollection] = new("acme/db1/coll", "acme/db1/other", (s, c) => s.GetClient(c, "acme", "db1").DeleteCollection("coll")),
        [ChromaActions.UpdateCollection] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Modify(metadata: new Dictionary<string, MetadataValue?> { ["v"] = 2L })),
        [ChromaActions.Add] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Add(["b"], [[3f, 4f]])),
        [ChromaActions.Upsert] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Upsert(["a"], [[3f, 4f]])),
        [ChromaActions.Update] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Update(["a"], documents: ["beta"])),
        [ChromaActions.Delete] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Delete(["a"]).Should().Be(1)),
        [ChromaActions.Get] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Get().Ids.Should().Equal("a")),
        [ChromaActions.Query] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Query([[1f, 2f]], 1).Ids[0].Should().Equal("a")),
        [ChromaActions.Count] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Count().Should().Be(1)),
        [ChromaActions.Compact] = new("acme/db1/coll", "acme/db1/other", (s, c) => Coll(s, c).Compact().Records.Should().Be(1)),
        [ChromaActions.VerifyIntegrity] = new("acme/db1/coll", null, (s, c) => s.GetClient(c, "acme", "db1").VerifyIntegrity()),
    };

    /// <summary>
    /// The same call made through a client the sibling-scoped key may open (so that the call itself, not opening
    /// the client, is refused); for the others the mapped call is used as is.
    /// </summary>
    private static readonly Dictionary<string, Action<ChromaStore, ApiKeyContext>> SiblingCalls = new()
    {
        [ChromaActions.CreateTenant] = (s, c) => s.GetClient(c, "acme", "db1").CreateTenant("newtenant"),
        [ChromaActions.GetTenant] = (s, c) => s.GetClient(c, "beta", "db1").GetTenant("acme"),
        [ChromaActions.DeleteTenant] = (s, c) => s.GetClient(c, "acme", "db1").DeleteTenant("spare"),
        [ChromaActions.CreateDatabase] = (s, c) => s.GetClient(c, "acme", "db2").CreateDatabase("newdb"),
        [ChromaActions.GetDatabase] = (s, c) => s.GetClient(c, "acme", "db2").GetDatabase("db1"),
        [ChromaActions.ListDatabases] = (s, c) => s.GetClient(c, "beta", "db1").ListDatabases("acme"),
        [ChromaActions.DeleteDatabase] = (s, c) => s.GetClient(c, "acme", "db2").DeleteDatabase("spare_db"),
    };

    public static TheoryData<string> DataActionNames => new(ChromaActions.DataActions);

    /// <summary>Data actions on a resource (all but the store-wide heartbeat and tenant listing).</summary>
    public static TheoryData<string> ScopedDataActionNames => new(ChromaActions.DataActions.Where(a => DataCases[a].OutOfScope is not null));

    /// <summary>Key-ring actions that name a target key (create and audit name none).</summary>
    public static TheoryData<string> TargetedKeyRingActionNames => new(ChromaActions.KeyRingActions.Where(a => a is not (ChromaActions.CreateKey or ChromaActions.ReadAudit)));

    public static TheoryData<string> KeyRingActionNames => new(ChromaActions.KeyRingActions);

    private void Seed()
    {
        _h.SeedTenants();
        var admin = _h.Store.GetClient(_h.AdminContext);
        admin.CreateTenant("spare");
        admin.CreateDatabase("spare_db", "acme");
    }

    [Fact]
    public void Matrix_covers_every_data_action_when_actions_are_enumerated()
    {
        DataCases.Keys.Should().BeEquivalentTo(ChromaActions.DataActions);
    }

    /// <summary>Store-wide calls that copy or inspect the whole store: they need an admin key besides the action (see DelegationTests).</summary>
    private static readonly HashSet<string> AdminOnly = [ChromaActions.SystemBackup, ChromaActions.VerifyIntegrity];

    /// <summary>Data actions a non-admin key may be granted alone.</summary>
    public static TheoryData<string> DelegableDataActionNames => new(ChromaActions.DataActions.Where(a => !AdminOnly.Contains(a)));

    [Theory]
    [MemberData(nameof(DelegableDataActionNames))]
    public void Data_action_is_allowed_when_key_has_exactly_that_action_on_the_resource(string action)
    {
        Seed();
        var test = DataCases[action];
        var key = _h.Login(_h.Mint([action], [test.InScope]));

        var act = () => test.Call(_h.Store, key);

        act.Should().NotThrow();
    }

    [Theory]
    [MemberData(nameof(DataActionNames))]
    public void Data_action_throws_authorization_naming_it_when_key_has_every_other_action(string action)
    {
        Seed();
        var test = DataCases[action];
        var others = ChromaActions.DataActions.Where(a => a != action
            // Holding any collection action implies opening that collection (documented), so it is left out here.
            && !(action == ChromaActions.GetCollection && a.StartsWith("collection:", StringComparison.Ordinal))).ToArray();
        var key = _h.Login(_h.Mint(others, [test.InScope]));

        var act = () => test.Call(_h.Store, key);

        act.Should().Throw<ChromaAuthorizationException>().WithMessage($"*'{action}'*");
    }

    [Theory]
    [MemberData(nameof(ScopedDataActionNames))]
    public void Data_action_throws_not_found_when_key_has_it_only_on_a_sibling_resource(string action)
    {
        Seed();
        var test = DataCases[action];
        var key = _h.Login(_h.Mint([action], [test.OutOfScope!]));

        var act = () => (SiblingCalls.GetValueOrDefault(action) ?? test.Call)(_h.Store, key);

        act.Should().Throw<ChromaNotFoundException>();
    }

    [Theory]
    [InlineData(ChromaActions.SystemHeartbeat)]
    [InlineData(ChromaActions.ListTenants)]
    public void Store_wide_action_is_allowed_when_key_scope_is_any_collection(string action)
    {
        Seed();
        var key = _h.Login(_h.Mint([action], ["beta/db1/coll"]));
        var client = _h.Store.GetClient(key, "beta", "db1");

        var act = () => action == ChromaActions.SystemHeartbeat ? client.Heartbeat() : client.ListTenants().Count;

        act.Should().NotThrow();
        if (action == ChromaActions.ListTenants)
        {
            client.ListTenants().Should().Equal("beta");
        }
    }

    private sealed record RingCase(Action<KeyRingClient, string> Call);

    private static readonly Dictionary<string, RingCase> RingCases = new()
    {
        [ChromaActions.CreateKey] = new((r, _) => r.CreateKey(new ApiKeySpec { Name = "child", Actions = [ChromaActions.CreateKey], Resources = ["acme"] }).Key.Should().StartWith("eck_")),
        [ChromaActions.ListKeys] = new((r, t) => { r.GetKey(t).KeyId.Should().Be(t); r.ListKeys().Should().Contain(k => k.KeyId == t); }),
        [ChromaActions.DisableKey] = new((r, t) => { r.DisableKey(t); r.EnableKey(t); }),
        [ChromaActions.RevokeKey] = new((r, t) => r.RevokeKey(t)),
        [ChromaActions.RotateKey] = new((r, t) => r.RotateKey(t, TimeSpan.FromMinutes(5)).Key.Should().StartWith("eck_")),
        [ChromaActions.ReadUsage] = new((r, t) => { r.GetUsage(t).KeyId.Should().Be(t); r.GetUsageHistory(t, DateTimeOffset.MinValue).Should().NotBeNull(); }),
        [ChromaActions.ReadAudit] = new((r, _) => { r.ReadAudit().Should().NotBeEmpty(); r.Invoking(x => x.VerifyAudit()).Should().Throw<ChromaAuthorizationException>().WithMessage("*admin key*"); }),
    };

    [Fact]
    public void Matrix_covers_every_keyring_action_when_actions_are_enumerated()
    {
        RingCases.Keys.Should().BeEquivalentTo(ChromaActions.KeyRingActions);
    }

    [Theory]
    [MemberData(nameof(KeyRingActionNames))]
    public void KeyRing_action_is_allowed_when_key_has_that_action_and_issued_the_target(string action)
    {
        // A key manages only keys issued below it, so the actor also holds create_key to issue its target.
        var actorKey = _h.Mint([action, ChromaActions.CreateKey], ["acme"]);
        var actor = _h.Login(actorKey);
        var target = _h.Store.GetKeyRing(actor).CreateKey(new ApiKeySpec { Name = "target", Actions = [action], Resources = ["acme/db1"] });

        var act = () => RingCases[action].Call(_h.Store.GetKeyRing(actor), target.Info.KeyId);

        act.Should().NotThrow();
    }

    [Theory]
    [MemberData(nameof(KeyRingActionNames))]
    public void KeyRing_action_throws_authorization_naming_it_when_key_has_every_other_action(string action)
    {
        var others = ChromaActions.KeyRingActions.Where(a => a != action).Append(ChromaActions.AllData).ToArray();
        var actor = _h.Login(_h.Mint(others, ["acme"]));
        var target = _h.Mint([ChromaActions.Get], ["acme/db1"], name: "target");

        var act = () => RingCases[action].Call(_h.Store.GetKeyRing(actor), target.Info.KeyId);

        act.Should().Throw<ChromaAuthorizationException>().WithMessage($"*'{action}'*");
    }

    [Theory]
    [MemberData(nameof(TargetedKeyRingActionNames))]
    public void KeyRing_action_throws_not_found_when_target_key_is_outside_the_actor_scope(string action)
    {
        var actor = _h.Login(_h.Mint([action], ["acme"]));
        var target = _h.Mint([action], ["beta"], name: "target");

        var act = () => RingCases[action].Call(_h.Store.GetKeyRing(actor), target.Info.KeyId);

        act.Should().Throw<ChromaNotFoundException>();
    }
}
