namespace EmbeddedChroma.Tests.Abstractions;

/// <summary>
/// <see cref="ChromaCredential"/> (a key, or a provider asked when a key is needed) and the embedded store's entry
/// points that take one: a credential never shows its key, a failing provider becomes an authentication failure
/// without its message, and a revoked or malformed key gets no client.
/// </summary>
public sealed class ChromaCredentialTests : IDisposable
{
    private readonly ContractHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\r\n ")]
    [InlineData("\u00a0\u2003")]
    public void FromKey_throws_ChromaAuthenticationException_when_the_key_is_null_empty_or_blank(string? key)
    {
        var act = () => ChromaCredential.FromKey(key!);

        act.Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public async Task FromKey_yields_the_key_when_asked_synchronously_or_asynchronously()
    {
        var credential = ChromaCredential.FromKey(_h.AdminKey);

        (await credential.GetKeyAsync()).Should().Be(_h.AdminKey);
        credential.GetKey().Should().Be(_h.AdminKey);
    }

    [Fact]
    public void ToString_never_contains_the_key_when_made_from_a_real_key()
    {
        var key = _h.AdminKey;
        var fromKey = ChromaCredential.FromKey(key);
        var fromProvider = ChromaCredential.FromProvider(_ => ValueTask.FromResult(key));

        foreach (var credential in new[] { fromKey, fromProvider })
        {
            credential.ToString().Should().NotContain(key);
            $"{credential}".Should().NotContain(key);
            credential.ToString().Should().NotContain(key[..Math.Min(key.Length, 20)]);
        }
    }

    [Fact]
    public void MetadataValue_ToString_masks_an_API_key_when_a_string_value_holds_one()
    {
        var key = _h.AdminKey;

        MetadataValue.FromString(key).ToString().Should().NotContain(key);
        MetadataValue.FromStrings(["ok", $"pasted {key} here"]).ToString().Should().NotContain(key);
    }

    [Fact]
    public void FromProvider_throws_ArgumentNullException_when_the_provider_is_null()
    {
        var act = () => ChromaCredential.FromProvider(null!);

        act.Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task GetKeyAsync_asks_the_provider_each_time_when_the_key_rotates()
    {
        var calls = 0;
        var credential = ChromaCredential.FromProvider(_ => ValueTask.FromResult(++calls == 1 ? "first-key" : "second-key"));

        calls.Should().Be(0, "the provider is asked only when a key is needed");
        (await credential.GetKeyAsync()).Should().Be("first-key");
        (await credential.GetKeyAsync()).Should().Be("second-key");
        calls.Should().Be(2);
    }

    [Fact]
    public async Task GetKeyAsync_passes_the_callers_token_to_the_provider_when_called()
    {
        using var cts = new CancellationTokenSource();
        CancellationToken seen = default;
        var credential = ChromaCredential.FromProvider(token =>
        {
            seen = token;
            return ValueTask.FromResult("k");
        });

        await credential.GetKeyAsync(cts.Token);

        seen.Should().Be(cts.Token);
    }

    public static TheoryData<string, Exception> ProviderFailures() => new()
    {
        { "InvalidOperationException", new InvalidOperationException("vault said: token eck_leaky_SECRETVALUE is expired") },
        { "IOException", new IOException("could not read /run/secrets/SECRETVALUE") },
        { "HttpRequestException", new HttpRequestException("GET https://vault/v1/SECRETVALUE failed") },
        { "KeyNotFoundException", new KeyNotFoundException("SECRETVALUE") },
        { "TaskCanceledException of its own timeout", new TaskCanceledException("SECRETVALUE timed out") },
    };

    [Theory]
    [MemberData(nameof(ProviderFailures))]
    public async Task GetKeyAsync_throws_ChromaAuthenticationException_without_the_providers_message_when_the_provider_throws(string what, Exception failure)
    {
        var credential = ChromaCredential.FromProvider(async token =>
        {
            await Task.Yield();
            throw failure;
        });

        var thrown = await credential.Invoking(c => c.GetKeyAsync().AsTask()).Should().ThrowAsync<ChromaAuthenticationException>(what);

        thrown.Which.Message.Should().NotContain("SECRETVALUE", what);
        thrown.Which.InnerException.Should().BeSameAs(failure, "the original stays available to the caller as the inner exception");
    }

    [Fact]
    public void GetKey_throws_ChromaAuthenticationException_when_the_provider_throws_synchronously()
    {
        var credential = ChromaCredential.FromProvider(_ => throw new UnauthorizedAccessException("SECRETVALUE"));

        var act = () => credential.GetKey();

        act.Should().Throw<ChromaAuthenticationException>().Which.Message.Should().NotContain("SECRETVALUE");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\n")]
    public async Task GetKeyAsync_throws_ChromaAuthenticationException_when_the_provider_returns_no_key(string? returned)
    {
        var credential = ChromaCredential.FromProvider(_ => ValueTask.FromResult(returned!));

        await credential.Invoking(c => c.GetKeyAsync().AsTask()).Should().ThrowAsync<ChromaAuthenticationException>();
        credential.Invoking(c => c.GetKey()).Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public async Task GetKeyAsync_throws_OperationCanceledException_when_the_caller_cancels_the_provider()
    {
        using var cts = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var credential = ChromaCredential.FromProvider(async token =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, token);
            return "never";
        });

        var pending = credential.GetKeyAsync(cts.Token).AsTask();
        await started.Task;
        await cts.CancelAsync();

        await pending.Invoking(p => p).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task GetKeyAsync_throws_OperationCanceledException_when_the_token_is_already_cancelled()
    {
        var credential = ChromaCredential.FromProvider(token =>
        {
            token.ThrowIfCancellationRequested();
            return ValueTask.FromResult("k");
        });

        await credential.Invoking(c => c.GetKeyAsync(new CancellationToken(canceled: true)).AsTask()).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public void GetKey_waits_for_a_provider_when_it_completes_asynchronously()
    {
        var credential = ChromaCredential.FromProvider(async token =>
        {
            await Task.Delay(20, token);
            return "late-key";
        });

        credential.GetKey().Should().Be("late-key");
    }

    [Fact]
    public void GetKey_returns_without_deadlock_when_called_on_a_thread_with_a_single_threaded_synchronization_context()
    {
        // A UI thread (WinForms, WPF, MAUI) blocks in GetKey while the provider's continuation is posted back to that
        // same thread: GetKey must not wait on a continuation that can only run on the thread it blocks.
        var credential = ChromaCredential.FromProvider(async token =>
        {
            await Task.Delay(10, token);
            return "late-key";
        });
        string? got = null;
        Exception? failed = null;
        var ui = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(new NeverPumpedContext());
            try
            {
                got = credential.GetKey();
            }
            catch (Exception ex)
            {
                failed = ex;
            }
        })
        { IsBackground = true };

        ui.Start();

        ui.Join(TimeSpan.FromSeconds(5)).Should().BeTrue("GetKey deadlocked on the caller's synchronization context");
        failed.Should().BeNull();
        got.Should().Be("late-key");
    }

    /// <summary>A UI-like context whose thread is busy (blocked): posted continuations are queued and never run.</summary>
    private sealed class NeverPumpedContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state)
        {
            // Queued for a message loop that is not running while the thread blocks.
        }

        public override SynchronizationContext CreateCopy() => this;
    }

    // ---- the embedded store's entry points ----

    [Fact]
    public async Task GetClient_returns_a_working_client_when_the_credential_holds_a_valid_key()
    {
        var key = _h.Mint([ChromaActions.SystemHeartbeat, ChromaActions.ListCollections], ["default_tenant/default_database"]);

        var sync = _h.Store.GetClient(ChromaCredential.FromKey(key));
        var viaAsync = await _h.Store.GetClientAsync(ChromaCredential.FromKey(key));

        (await Beat(sync)).Should().BePositive("the embedded client is an IChromaClient");
        (await Beat(viaAsync)).Should().BePositive();
        viaAsync.Tenant.Should().Be(ChromaDefaults.Tenant);
        viaAsync.Database.Should().Be(ChromaDefaults.Database);
    }

    private static Task<long> Beat(IChromaClient client) => client.HeartbeatAsync();

    [Fact]
    public async Task GetClientAsync_asks_the_provider_once_when_it_creates_a_client()
    {
        var calls = 0;
        var credential = ChromaCredential.FromProvider(async token =>
        {
            await Task.Yield();
            calls++;
            return _h.AdminKey;
        });

        var client = await _h.Store.GetClientAsync(credential, ChromaDefaults.Tenant, ChromaDefaults.Database);

        calls.Should().Be(1);
        (await client.CountCollectionsAsync()).Should().Be(0);
    }

    [Fact]
    public async Task GetClient_throws_ChromaAuthenticationException_without_the_key_when_the_key_is_revoked()
    {
        var key = _h.Mint([ChromaActions.AllData], ["*"], out var keyId);
        _h.Revoke(keyId);

        var sync = () => _h.Store.GetClient(ChromaCredential.FromKey(key));
        sync.Should().Throw<ChromaAuthenticationException>().Which.Message.Should().NotContain(key);

        Task<IChromaClient>? pending = null;
        Action call = () => pending = _h.Store.GetClientAsync(ChromaCredential.FromKey(key));
        call.Should().NotThrow("an async entry point reports failures through its task");
        (await pending!.Invoking(p => p).Should().ThrowAsync<ChromaAuthenticationException>()).Which.Message.Should().NotContain(key);
    }

    [Theory]
    [InlineData("not-a-key")]
    [InlineData("eck_")]
    [InlineData("Bearer something")]
    [InlineData("eck_0000000000000000_00000000000000000000000000000000000000000000")]
    public async Task GetClient_throws_ChromaAuthenticationException_when_the_key_is_malformed(string key)
    {
        var sync = () => _h.Store.GetClient(ChromaCredential.FromKey(key));

        sync.Should().Throw<ChromaAuthenticationException>();
        await _h.Store.Invoking(s => s.GetClientAsync(ChromaCredential.FromKey(key))).Should().ThrowAsync<ChromaAuthenticationException>();
    }

    [Fact]
    public async Task GetClient_throws_ChromaAuthenticationException_when_a_key_is_tampered_with()
    {
        var key = _h.AdminKey;
        var last = key[^1];
        var tampered = key[..^1] + (last == 'A' ? 'B' : 'A');

        var thrown = await _h.Store.Invoking(s => s.GetClientAsync(ChromaCredential.FromKey(tampered))).Should().ThrowAsync<ChromaAuthenticationException>();

        thrown.Which.Message.Should().NotContain(tampered).And.NotContain(key[^12..]);
    }

    [Fact]
    public async Task Clients_handles_and_credentials_never_show_the_key_when_turned_into_text()
    {
        var key = _h.Mint([ChromaActions.AllData], ["*"]);
        var client = await _h.Store.GetClientAsync(ChromaCredential.FromKey(key));
        var collection = await client.CreateCollectionAsync("shown", null);
        var secret = key[^16..];

        foreach (var text in new[] { client.ToString(), collection.ToString(), ((ChromaClient)client).Context.ToString(), ChromaCredential.FromKey(key).ToString() })
        {
            text.Should().NotContain(key).And.NotContain(secret);
        }
    }

    [Fact]
    public async Task GetClientAsync_throws_ChromaAuthenticationException_when_the_provider_fails()
    {
        var credential = ChromaCredential.FromProvider(_ => throw new InvalidOperationException("SECRETVALUE"));

        var thrown = await _h.Store.Invoking(s => s.GetClientAsync(credential)).Should().ThrowAsync<ChromaAuthenticationException>();

        thrown.Which.Message.Should().NotContain("SECRETVALUE");
        _h.Store.Invoking(s => s.GetClient(credential)).Should().Throw<ChromaAuthenticationException>();
    }

    [Fact]
    public async Task GetClientAsync_throws_OperationCanceledException_when_the_provider_is_cancelled()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var credential = ChromaCredential.FromProvider(token =>
        {
            token.ThrowIfCancellationRequested();
            return ValueTask.FromResult(_h.AdminKey);
        });

        await _h.Store.Invoking(s => s.GetClientAsync(credential, ChromaDefaults.Tenant, ChromaDefaults.Database, cts.Token))
            .Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task GetClientAsync_returns_a_cancelled_task_when_the_token_is_already_cancelled()
    {
        // Every other async call of the contract answers an already-cancelled token with a cancelled task; the entry
        // point should too, even when the credential is a plain key that needs no waiting.
        var task = _h.Store.GetClientAsync(ChromaCredential.FromKey(_h.AdminKey), ChromaDefaults.Tenant, ChromaDefaults.Database, new CancellationToken(canceled: true));

        await task.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Client_calls_throw_ChromaAuthenticationException_when_the_key_is_revoked_after_the_client_was_made()
    {
        var key = _h.Mint([ChromaActions.AllData], ["*"], out var keyId);
        var client = await _h.Store.GetClientAsync(ChromaCredential.FromKey(key));
        (await client.CountCollectionsAsync()).Should().Be(0);

        _h.Revoke(keyId);

        await client.Invoking(c => c.CountCollectionsAsync()).Should().ThrowAsync<ChromaAuthenticationException>();
        await client.Invoking(c => c.HeartbeatAsync()).Should().ThrowAsync<ChromaAuthenticationException>();
    }

    [Fact]
    public async Task GetClientAsync_throws_ChromaNotFoundException_when_the_database_is_outside_the_keys_scope()
    {
        await _h.Client.CreateDatabaseAsync("other");
        var key = _h.Mint([ChromaActions.AllData], ["default_tenant/default_database"]);

        await _h.Store.Invoking(s => s.GetClientAsync(ChromaCredential.FromKey(key), ChromaDefaults.Tenant, "other"))
            .Should().ThrowAsync<ChromaNotFoundException>();
    }

    [Fact]
    public async Task GetClientAsync_throws_ChromaStoreClosedException_when_the_store_is_closed()
    {
        _h.Store.Dispose();

        await _h.Store.Invoking(s => s.GetClientAsync(ChromaCredential.FromKey(_h.AdminKey))).Should().ThrowAsync<ChromaStoreClosedException>();
    }
}
