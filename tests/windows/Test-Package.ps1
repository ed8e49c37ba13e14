<#
.SYNOPSIS
    Installs a provisioning package built by bulk-enroll on this Windows 10/11 device and
    reports which settings applied and which failed.

.DESCRIPTION
    Run it in an elevated PowerShell on a test machine or VM you can roll back: the package
    may rename the device, join it to Entra ID or a domain, add users, install software,
    upgrade or even reset Windows.

    The script records the start time, installs the package with
    Install-ProvisioningPackage -ForceInstall -QuietInstall, waits until the provisioning
    event channels fall quiet (or -WaitSeconds pass), then collects every event written since
    the start to the provisioning, device-management and join channels. It prints, per
    provisioning document (provxml) of the package, whether it applied or failed, lists every
    warning and error event, and writes all of it to a report file to send back.

    Exit code: 0 when nothing failed, 1 when a document or event reported a failure,
    2 when the script could not run (not elevated, package missing).

.PARAMETER PackagePath
    The .ppkg file to install.

.PARAMETER Manifest
    Acceptance mode: the manifest.json written by "bulk-enroll acceptance build DIR".
    Use with -Package. The package file is taken from the manifest's folder.

.PARAMETER Package
    Acceptance mode: the name of the matrix package to install (e.g. wifi). Install ONE
    package per fresh VM snapshot and revert the VM before the next one: packages rename,
    join, upgrade or even reset the device, and a second package would be judged on a
    machine the first one changed.

.PARAMETER JsonReportPath
    Acceptance mode: the JSON report to add this package's results to (default:
    acceptance-report.json beside the manifest). Keep it on a USB stick or a shared folder,
    not on the VM's disk, so it survives reverting the VM. An entry for the same package
    is replaced.

JSON REPORT
    { "format": "bulk-enroll acceptance report", "version": 1,
      "packages": [ { "name", "file", "package_id", "windows", "installed" (bool),
        "install_error" (text or null), "started" (ISO time),
        "documents": [ { "file", "result": "applied"|"failed", "message" } ],
        "settings":  [ { "path", "result": "applied"|"failed"|"not seen", "evidence" } ],
        "events":    [ { "time", "log", "id", "level", "message" } ] } ] }
    A setting's result comes, in this order, from a direct check on the device named in the
    manifest (Wi-Fi profile present, certificate in LocalMachine\Root, local user exists,
    edition, Shared PC state, a file the test command writes), then from Windows' result for
    the provxml document that carries it, then from error events naming that document; with
    none of these it is "not seen". Read it back with "bulk-enroll acceptance report".

.PARAMETER WaitSeconds
    How long to wait at most for the provisioning engine after the install returns
    (default 180). The wait ends earlier once no new event arrived for 30 seconds.

.PARAMETER ReportPath
    Where to write the report (default: Test-Package-<name>-<time>.txt beside the package).

.PARAMETER SkipInstall
    Do not install; only collect events since -Since (for a package installed during OOBE).

.PARAMETER Since
    With -SkipInstall: collect events from this time on (default: the last boot).

.EXAMPLE
    Set-ExecutionPolicy -Scope Process Bypass
    .\Test-Package.ps1 -PackagePath D:\lab.ppkg

.EXAMPLE
    .\Test-Package.ps1 -PackagePath D:\lab.ppkg -SkipInstall

.EXAMPLE
    .\Test-Package.ps1 -Manifest E:\acceptance\manifest.json -Package wifi
    (then revert the VM to the snapshot and run the next package)
#>
[CmdletBinding(DefaultParameterSetName = 'Single')]
param(
    [Parameter(Mandatory = $true, ParameterSetName = 'Single')][string]$PackagePath,
    [Parameter(Mandatory = $true, ParameterSetName = 'Acceptance')][string]$Manifest,
    [Parameter(Mandatory = $true, ParameterSetName = 'Acceptance')][string]$Package,
    [Parameter(ParameterSetName = 'Acceptance')][string]$JsonReportPath,
    [int]$WaitSeconds = 180,
    [string]$ReportPath,
    [switch]$SkipInstall,
    [Nullable[datetime]]$Since
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

$Channels = @(
    'Microsoft-Windows-Provisioning-Diagnostics-Provider/Admin',
    'Microsoft-Windows-Provisioning-Diagnostics-Provider/AutoPilot',
    'Microsoft-Windows-Provisioning-Diagnostics-Provider/ManagementService',
    'Microsoft-Windows-DeviceManagement-Enterprise-Diagnostics-Provider/Admin',
    'Microsoft-Windows-AAD/Operational',
    'Microsoft-Windows-User Device Registration/Admin',
    'Microsoft-Windows-Shell-Core/Operational'
)
$QuietSeconds = 30
$PollSeconds = 5

$Report = New-Object System.Collections.Generic.List[string]
function Out-Report([string]$Text = '') {
    $Report.Add($Text)
    Write-Host $Text
}

$identity = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
if (-not $identity.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Host 'Test-Package: run this script in an elevated PowerShell (Run as administrator).'
    exit 2
}
$Entry = $null
if ($PSCmdlet.ParameterSetName -eq 'Acceptance') {
    if (-not (Test-Path -LiteralPath $Manifest -PathType Leaf)) {
        Write-Host "Test-Package: the manifest '$Manifest' does not exist."
        exit 2
    }
    $ManifestData = Get-Content -LiteralPath $Manifest -Raw -Encoding UTF8 | ConvertFrom-Json
    $Entry = @($ManifestData.packages | Where-Object { $_.name -eq $Package })[0]
    if (-not $Entry) {
        $names = (@($ManifestData.packages) | ForEach-Object { $_.name }) -join ', '
        Write-Host "Test-Package: the manifest has no package '$Package' (it has: $names)."
        exit 2
    }
    $ManifestDir = Split-Path -Parent (Resolve-Path -LiteralPath $Manifest)
    $PackagePath = Join-Path $ManifestDir $Entry.file
    if (-not $JsonReportPath) { $JsonReportPath = Join-Path $ManifestDir 'acceptance-report.json' }
    Write-Host "Acceptance package '$Package': $($Entry.about)"
}
if (-not (Test-Path -LiteralPath $PackagePath -PathType Leaf)) {
    Write-Host "Test-Package: the package '$PackagePath' does not exist."
    exit 2
}
$Package = Get-Item -LiteralPath $PackagePath
$Start = Get-Date
if ($SkipInstall -and -not $Since) {
    $Since = (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime
}
if (-not $SkipInstall) { $Since = $Start.AddSeconds(-5) }
if (-not $ReportPath) {
    $name = 'Test-Package-{0}-{1:yyyyMMdd-HHmmss}.txt' -f $Package.BaseName, $Start
    $ReportPath = Join-Path $Package.DirectoryName $name
}

# --- the machine and the package ------------------------------------------------------------
$cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$display = if ($cv.PSObject.Properties['DisplayVersion']) { $cv.DisplayVersion } else { $cv.ReleaseId }
Out-Report 'bulk-enroll package acceptance report'
Out-Report ('Report written   {0:o}' -f $Start)
Out-Report "Package          $($Package.FullName)"
Out-Report "Size             $($Package.Length) bytes"
Out-Report "SHA-256          $((Get-FileHash -Algorithm SHA256 -LiteralPath $Package.FullName).Hash)"
Out-Report "Windows          $($cv.ProductName) $display, build $($cv.CurrentBuild).$($cv.UBR), edition $($cv.EditionID)"
Out-Report "Computer name    $env:COMPUTERNAME (before)"
Out-Report ('Events since     {0:o}' -f $Since)
Out-Report

# --- install --------------------------------------------------------------------------------
$Installed = $null
$InstallError = $null
if ($SkipInstall) {
    Out-Report 'Install          skipped (-SkipInstall)'
} else {
    Out-Report 'Install          Install-ProvisioningPackage -ForceInstall -QuietInstall'
    try {
        $Installed = Install-ProvisioningPackage -PackagePath $Package.FullName -ForceInstall -QuietInstall
        Out-Report 'Install result   the cmdlet returned without an error'
    } catch {
        $InstallError = $_
        Out-Report "Install result   FAILED: $($_.Exception.Message)"
        if ($_.Exception.HResult) { Out-Report ('HRESULT          0x{0:X8}' -f $_.Exception.HResult) }
    }
}

function Get-ProvisioningEvents([datetime]$From) {
    $events = @()
    foreach ($channel in $Channels) {
        try {
            $events += Get-WinEvent -FilterHashtable @{ LogName = $channel; StartTime = $From } -ErrorAction Stop
        } catch {
            # No events in the window, or the channel does not exist on this build: both fine.
        }
    }
    return $events
}

# --- wait until the provisioning engine falls quiet (polling against a deadline) -----------
if (-not $SkipInstall) {
    $deadline = (Get-Date).AddSeconds($WaitSeconds)
    $lastCount = -1
    $lastChange = Get-Date
    while ((Get-Date) -lt $deadline) {
        $count = @(Get-ProvisioningEvents $Since).Count
        if ($count -ne $lastCount) {
            $lastCount = $count
            $lastChange = Get-Date
        } elseif (((Get-Date) - $lastChange).TotalSeconds -ge $QuietSeconds) {
            break
        }
        Start-Sleep -Seconds $PollSeconds
    }
}

# --- what Windows says about each provisioning document -------------------------------------
if (-not $Installed) {
    try { $Installed = Get-ProvisioningPackage -PackagePath $Package.FullName } catch { }
}
$Failures = 0
Out-Report
Out-Report 'Package as Windows sees it'
if ($Installed) {
    foreach ($field in 'PackageId', 'PackageName', 'Version', 'OwnerType', 'Rank', 'Altitude', 'LastInstallTime', 'IsInstalled') {
        if ($Installed.PSObject.Properties[$field]) { Out-Report ('  {0,-16} {1}' -f $field, $Installed.$field) }
    }
} else {
    Out-Report '  (Windows returned no package information)'
}

Out-Report
Out-Report 'Settings (one provisioning document each)'
$results = @()
if ($Installed -and $Installed.PSObject.Properties['Result'] -and $Installed.Result) {
    # The Result text holds, per document: its file name, then "Key: value" lines
    # (Category, LastResult, Message, NumberOfFailures), blocks separated by blank lines.
    $current = $null
    foreach ($line in ($Installed.Result -split "`r?`n")) {
        $text = $line.Trim()
        if ($text -match '\.provxml$') {
            $current = [ordered]@{ Document = $text; LastResult = ''; Message = ''; NumberOfFailures = '' }
            $results += $current
        } elseif ($current -and $text -match '^(\w+):\s*(.*)$') {
            $current[$Matches[1]] = $Matches[2]
        }
    }
    foreach ($r in $results) {
        $failed = ($r.LastResult -and $r.LastResult -notmatch '^Success') -or ($r.NumberOfFailures -and $r.NumberOfFailures -notmatch '^0\b')
        if ($failed) { $Failures++ }
        $state = if ($failed) { 'FAILED ' } else { 'applied' }
        Out-Report ('  {0}  {1}  {2}' -f $state, $r.Document, $r.Message)
    }
    if (-not $results) {
        Out-Report '  (could not split the result into documents; raw result follows)'
        Out-Report ($Installed.Result | Out-String)
    }
} else {
    Out-Report '  (no per-document result from Windows; see the events below)'
}

# --- events ---------------------------------------------------------------------------------
$events = @(Get-ProvisioningEvents $Since | Sort-Object TimeCreated)
$problems = @($events | Where-Object { $_.Level -in 1, 2, 3 })
$errors = @($events | Where-Object { $_.Level -in 1, 2 })
$Failures += $errors.Count
if ($InstallError) { $Failures++ }

Out-Report
Out-Report "Events           $($events.Count) in total, $($errors.Count) errors, $($problems.Count - $errors.Count) warnings"
foreach ($channel in $Channels) {
    $n = @($events | Where-Object { $_.LogName -eq $channel }).Count
    Out-Report ('  {0,5}  {1}' -f $n, $channel)
}
Out-Report
Out-Report 'Errors and warnings'
if (-not $problems) { Out-Report '  (none)' }
foreach ($e in $problems) {
    $message = ($e.Message -replace '\s+', ' ').Trim()
    Out-Report ('  {0:HH:mm:ss} {1,-11} id {2,-5} {3}: {4}' -f $e.TimeCreated, $e.LevelDisplayName, $e.Id, $e.LogName, $message)
}

Out-Report
Out-Report 'All events'
foreach ($e in $events) {
    $message = ($e.Message -replace '\s+', ' ').Trim()
    Out-Report ('  {0:o} {1} id {2} level {3} {4}' -f $e.TimeCreated, $e.LogName, $e.Id, $e.Level, $message)
}

# --- the device afterwards ------------------------------------------------------------------
Out-Report
Out-Report 'Device afterwards'
Out-Report "  Computer name    $env:COMPUTERNAME (a rename takes effect after the restart)"
try {
    $dsreg = & dsregcmd.exe /status 2>$null | Select-String -Pattern 'AzureAdJoined|DomainJoined|TenantName|DeviceId'
    foreach ($line in $dsreg) { Out-Report "  $($line.Line.Trim())" }
} catch { Out-Report '  (dsregcmd /status not available)' }

Out-Report
$verdict = if ($Failures -eq 0) { 'PASS: no failure reported' } else { "FAIL: $Failures failure(s) reported" }
Out-Report "Verdict          $verdict"

$Report | Set-Content -LiteralPath $ReportPath -Encoding UTF8
Write-Host "Report written to $ReportPath - please send this file back."

# --- acceptance mode: this package's results into the JSON report ---------------------------
function Invoke-Check($check) {
    # One direct look at the device; returns @(result, evidence) or $null when it cannot tell.
    try {
        switch ($check.kind) {
            'wlan-profile' {
                $out = & netsh.exe wlan show profiles name="$($check.value)" 2>&1 | Out-String
                if ($LASTEXITCODE -eq 0) { return @('applied', "profile '$($check.value)' present") }
                return @('failed', "netsh: no profile '$($check.value)'")
            }
            'cert-root' {
                if (Test-Path -LiteralPath "Cert:\LocalMachine\Root\$($check.value)") {
                    return @('applied', "certificate $($check.value) in LocalMachine\Root")
                }
                return @('failed', "certificate $($check.value) not in LocalMachine\Root")
            }
            'local-user' {
                if (Get-LocalUser -Name $check.value -ErrorAction SilentlyContinue) {
                    return @('applied', "local user '$($check.value)' exists")
                }
                return @('failed', "no local user '$($check.value)'")
            }
            'edition' {
                $edition = (Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion').EditionID
                if ($edition -match $check.value) { return @('applied', "edition is $edition") }
                return $null  # it applies at the restart: after it, run again with -SkipInstall
            }
            'shared-pc' {
                $sp = Get-CimInstance -Namespace 'root\cimv2\mdm\dmmap' -ClassName MDM_SharedPC -ErrorAction Stop
                $state = "EnableSharedPCMode $($sp.EnableSharedPCMode), AccountModel $($sp.AccountModel), EnableAccountManager $($sp.EnableAccountManager)"
                if ($sp.EnableSharedPCMode -and "$($sp.AccountModel)" -eq "$($check.value)") { return @('applied', $state) }
                return @('failed', $state)
            }
            'file-contains' {
                $file = [Environment]::ExpandEnvironmentVariables($check.value)
                if (-not (Test-Path -LiteralPath $file)) { return $null }
                $text = Get-Content -LiteralPath $file -Raw
                if ($text -match 'NOT found') { return @('failed', ($text -replace '\s+', ' ').Trim()) }
                return @('applied', ($text -replace '\s+', ' ').Trim())
            }
        }
    } catch {
        return $null
    }
    return $null
}

if ($Entry) {
    $docResults = @{}
    foreach ($r in $results) { $docResults[[IO.Path]::GetFileName($r.Document)] = $r }
    $docRows = @()
    $settingRows = @()
    foreach ($doc in @($Entry.documents)) {
        $r = $docResults[$doc.file]
        $stem = ($doc.file -replace '^\d+__', '') -replace '\.provxml$', ''
        $naming = @($errors | Where-Object { $_.Message -match [regex]::Escape($stem) })
        $mentioned = @($events | Where-Object { $_.Message -match [regex]::Escape($stem) })
        if ($r) {
            $failed = ($r.LastResult -and $r.LastResult -notmatch '^Success') -or ($r.NumberOfFailures -and $r.NumberOfFailures -notmatch '^0\b')
            $docResult = if ($failed) { 'failed' } else { 'applied' }
            $evidence = "Windows result for $($doc.file): $($r.LastResult) $($r.Message)".Trim()
        } elseif ($naming) {
            $docResult = 'failed'
            $evidence = "event $($naming[0].Id) ($($naming[0].LevelDisplayName)): $(($naming[0].Message -replace '\s+', ' ').Trim())"
        } else {
            $docResult = 'not seen'
            $evidence = if ($mentioned) { "events name $($doc.file) without an error" } else { '' }
        }
        if ($docResult -ne 'not seen') {
            $docRows += [ordered]@{ file = $doc.file; result = $docResult; message = $evidence }
        }
        foreach ($path in @($doc.settings)) {
            $result = $docResult
            $why = $evidence
            foreach ($check in @($Entry.checks)) {
                if ($check -and $path.StartsWith($check.setting)) {
                    $found = Invoke-Check $check
                    if ($found) { $result = $found[0]; $why = "check $($check.kind): $($found[1])" }
                }
            }
            $settingRows += [ordered]@{ path = $path; result = $result; evidence = $why }
        }
    }
    $eventRows = @($events | Where-Object { $_.Level -in 1, 2, 3 } | ForEach-Object {
        [ordered]@{ time = $_.TimeCreated.ToString('o'); log = $_.LogName; id = $_.Id; level = $_.Level; message = ($_.Message -replace '\s+', ' ').Trim() }
    })
    $packageRow = [ordered]@{
        name = $Entry.name
        file = $Entry.file
        package_id = $Entry.package_id
        windows = "$($cv.ProductName) $display, build $($cv.CurrentBuild).$($cv.UBR), edition $($cv.EditionID)"
        installed = [bool](-not $SkipInstall -and -not $InstallError)
        install_error = if ($InstallError) { $InstallError.Exception.Message } else { $null }
        started = $Start.ToString('o')
        documents = @($docRows)
        settings = @($settingRows)
        events = @($eventRows)
    }
    $packages = @()
    if (Test-Path -LiteralPath $JsonReportPath) {
        $old = Get-Content -LiteralPath $JsonReportPath -Raw -Encoding UTF8 | ConvertFrom-Json
        $packages = @(@($old.packages) | Where-Object { $_ -and $_.name -ne $Entry.name })
    }
    $packages += $packageRow
    $json = [ordered]@{ format = 'bulk-enroll acceptance report'; version = 1; packages = @($packages) }
    $json | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $JsonReportPath -Encoding UTF8
    Write-Host "Results for '$($Entry.name)' added to $JsonReportPath."
    Write-Host 'Revert the VM to its snapshot before installing the next package.'
}
if ($Failures -eq 0) { exit 0 } else { exit 1 }
