; Inno Setup 6 script for Taxon: a per-user install (no administrator rights).
;
; packaging/windows/build_installer.ps1 builds the bundle and then runs:
;   iscc /DAppVersion=0.1.0 /DBundleDir=..\..\dist\Taxon /DIconFile=..\..\build\icons\taxon.ico
;        /DOutputDir=..\..\dist packaging\windows\taxon.iss
; Output: dist\Taxon-<version>-setup.exe (Taxon-CPU-<version>-setup.exe for a CPU-only torch),
; plus -setup-N.bin slices when the CUDA bundle is larger than one setup file may be: keep
; them beside the .exe.
;
; Model packages: the installer associates the ".taxon-model" extension (a model package
; folder zipped into one file, see docs/packaging.md) with Taxon.exe "%1". A package folder
; itself (the folder holding taxon-model.json) cannot be associated on Windows.

#ifndef AppVersion
  #error Pass /DAppVersion=X.Y.Z (engine.__version__)
#endif
#ifndef BundleDir
  #define BundleDir "..\..\dist\Taxon"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\taxon.ico"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef Flavour
  ; "-CPU" for a bundle built with PyPI's CPU-only torch (build_installer.ps1 decides).
  #define Flavour ""
#endif

#define AppName "Taxon"
#define AppExe "Taxon.exe"
#define CliExe "taxon-cli.exe"
#define ModelExtension ".taxon-model"
#define ModelProgId "Taxon.ModelPackage"

[Setup]
; A fixed AppId keeps upgrades and the uninstaller tied to one entry. Never change it.
AppId={{6B1D3C52-7E0A-4B8F-9C1E-2A5D7F40B9E3}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Taxon contributors
VersionInfoVersion={#AppVersion}
VersionInfoProductName={#AppName}
VersionInfoDescription={#AppName} installer
; Per-user: {autopf} is %LOCALAPPDATA%\Programs, shortcuts and registry go to the user.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename={#AppName}{#Flavour}-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
ChangesAssociations=yes
WizardStyle=modern
; Several GB of PyTorch and CUDA: lzma2 without a solid block keeps memory and time sane,
; and disk spanning lifts the 2 GB limit of a single setup file.
Compression=lzma2/fast
SolidCompression=no
DiskSpanning=yes
DiskSliceSize=max
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; HKA is HKCU for a per-user install. The values go when Taxon is uninstalled.
Root: HKA; Subkey: "Software\Classes\{#ModelExtension}"; ValueType: string; ValueName: ""; ValueData: "{#ModelProgId}"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ModelExtension}\OpenWithProgids"; ValueType: string; ValueName: "{#ModelProgId}"; ValueData: ""; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\{#ModelProgId}"; ValueType: string; ValueName: ""; ValueData: "Taxon model package"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ModelProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\{#ModelProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\SupportedTypes"; ValueType: string; ValueName: "{#ModelExtension}"; ValueData: ""; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; No [UninstallDelete]: the uninstaller removes only what it installed. Projects, models,
; settings and caches live in %LOCALAPPDATA%\Taxon and stay.
